// The new pattern's controller: the SDK in src/, driven the way a controller drives it.
import type { NewController } from './new-controller.ts';
import { SdkController } from './sdk-controller.ts';

/** listenUrl: where the SDK's LISTEN session connects (default: databaseUrl). */
export async function createNewController(databaseUrl: string, listenUrl?: string): Promise<NewController> {
  return SdkController.create(databaseUrl, listenUrl);
}
