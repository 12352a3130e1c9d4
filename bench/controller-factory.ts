// Picks the implementation of the new pattern: the SDK when src/index.ts loads, else direct RPC
// calls (the fallback, reported as newImplementation: 'direct-rpc').
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../scripts/lib/database.ts';
import type { NewController } from './new-controller.ts';
import { RpcController } from './rpc-controller.ts';

/** listenUrl: where the SDK's LISTEN session connects (default: databaseUrl). */
export async function createNewController(databaseUrl: string, listenUrl?: string): Promise<NewController> {
  if (process.env.ALD_BENCH_FORCE_RPC !== '1' && existsSync(join(repoRoot, 'src/index.ts'))) {
    const { SdkController } = await import('./sdk-controller.ts');
    return SdkController.create(databaseUrl, listenUrl);
  }
  return new RpcController(databaseUrl);
}
