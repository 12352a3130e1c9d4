-- One way for every RPC to raise the errors a caller branches on, with the HTTP status they mean.
--
-- Through PostgREST (supabase.rpc), a plain raise of P0002, 55000, 40001 or 22003 arrives as HTTP
-- 500: PostgREST maps P0* and 55*/40* to 500 and 22* to 400. PostgREST's documented way to choose
-- the status is `raise sqlstate 'PGRST'` with the error body as JSON in the message and the status
-- in the detail; the body keeps the real SQLSTATE in `code`, so callers still branch on it. Only a
-- request that came through PostgREST gets that form (PostgREST sets request.method for the
-- transaction); a direct caller (postgres.js, psql, pgTAP, the Edge Functions) gets the plain
-- SQLSTATE with message, detail and hint as before.
create function private.raise_error(code text, message text, detail text default null, hint text default null)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  status int := case code when 'P0002' then 404 when '55000' then 409 when '40001' then 409 when '22003' then 422 end;
begin
  if status is not null and coalesce(pg_catalog.current_setting('request.method', true), '') <> '' then
    raise sqlstate 'PGRST' using
      message = pg_catalog.json_build_object('code', code, 'message', message, 'details', detail, 'hint', hint)::text,
      detail = pg_catalog.json_build_object('status', status, 'headers', pg_catalog.json_build_object())::text;
  end if;
  -- RAISE refuses a null option: give detail and hint only when there are some.
  if detail is null and hint is null then
    raise exception using errcode = code, message = message;
  elsif hint is null then
    raise exception using errcode = code, message = message, detail = detail;
  elsif detail is null then
    raise exception using errcode = code, message = message, hint = hint;
  else
    raise exception using errcode = code, message = message, detail = detail, hint = hint;
  end if;
end;
$$;
comment on function private.raise_error(text, text, text, text) is
  'Raises SQLSTATE code with message, detail and hint; inside a PostgREST request (request.method set) as PostgREST''s PGRST raise, so that P0002 answers HTTP 404, 55000 and 40001 409, 22003 422, with code still the SQLSTATE.';
revoke execute on function private.raise_error(text, text, text, text) from public;
-- The read RPCs are security invoker: their callers raise through it too.
grant execute on function private.raise_error(text, text, text, text) to authenticated, service_role;
