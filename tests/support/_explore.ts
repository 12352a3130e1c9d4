import postgres from 'postgres';
import { TcpProxy } from '/work/main/tests/support/tcp-proxy.ts';
const p = new TcpProxy({});
await p.start();
const sql = postgres(p.url('postgres'), { max: 1, onnotice: () => {} });
const show = (l: string) => { const s = p.stats(); console.log(l, s.roundTrips, JSON.stringify(s.clientMessages), JSON.stringify(s.serverMessages), 'conns', s.connections); p.resetStats(); };
await sql`select 1`; show('first select 1 (incl connect)');
await sql`select 1`; show('select 1');
await sql`select 1`; show('select 1 again');
await sql`select ${1}::int`; show('param first');
await sql`select ${2}::int`; show('param second');
await sql.begin(async (tx) => { await tx`select 1`; await tx`select 2`; }); show('begin sequential');
await sql.begin((tx) => [tx`select 1`, tx`select 2`]); show('begin array');
await sql.unsafe('select 1; select 2'); show('unsafe multi');
await Promise.all([sql`select 1`, sql`select 2`, sql`select 3`]); show('Promise.all 3');
p.resetAll(); await new Promise(r => setTimeout(r, 50));
try { await sql`select 1`; console.log('after idle reset: ok'); } catch (e: any) { console.log('after idle reset: err', e.code, e.message); }
show('after reset');
p.onClientMessage = (t) => { if (t === 'B') p.resetAll(); };
try { await sql`select 1`; console.log('inflight reset: ok'); } catch (e: any) { console.log('inflight reset: err', e.code, e.message); }
p.onClientMessage = undefined;
await sql`select 1`; console.log('then ok'); show('x');
const bo = p.blackout(300);
const sql2 = postgres(p.url('postgres'), { max: 1 });
const t0 = Date.now();
try { await sql2`select 1`; console.log('during blackout ok'); } catch (e: any) { console.log('blackout err', e.code, e.message, Date.now() - t0); }
await bo;
await sql2`select 1`; console.log('after blackout ok');
await sql.end(); await sql2.end(); await p.close();
