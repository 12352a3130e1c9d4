// rpcCall: the functions' RPC calls are written from RPC_CATALOG, not restated.
import assert from 'node:assert/strict';
import { rpcCall } from '../../functions/_shared/rpc-call.ts';
import { RECORD_STATEMENT } from '../../functions/record-data/body.ts';
import { WRITE_STATEMENTS } from '../../functions/set-parameter/body.ts';

Deno.test("rpcCall: names the arguments given, in the catalog's order, cast to the catalog's types", () => {
  assert.equal(
    rpcCall('complete_process', { error_message: `'x'`, process_id: '$1' }),
    `public.complete_process("process_id" => ($1)::uuid, "error_message" => ('x')::text)`,
  );
});

Deno.test('rpcCall: refuses an argument the catalog does not list, naming the ones it does', () => {
  assert.throws(
    () => rpcCall('get_parameters', { ids: '$1' }),
    /get_parameters has no argument ids; RPC_CATALOG lists: parameter_ids/,
  );
});

Deno.test('the set-parameter and record-data statements call their RPC with every argument they read', () => {
  assert.match(
    WRITE_STATEMENTS[1],
    /public\.set_parameter_value\("parameter_id" => .*::uuid, "value" => .*::double precision, /,
  );
  assert.match(WRITE_STATEMENTS[1], /"source" => \('api'\)::public\.change_source/);
  assert.doesNotMatch(WRITE_STATEMENTS[1], /process_id|step_execution_id/);
  assert.match(
    RECORD_STATEMENT,
    /"values" => \(current_setting\('ald\.args'\)::jsonb ->> 'values'\)::double precision\[\]/,
  );
});
