-- macros.lua: vpim-milter with the macros the MTAs send (Postfix defaults, the .mc snippet):
-- {daemon_name} and j at connect, {i}, {auth_type}, {auth_authen} and {mail_addr} at MAIL,
-- {rcpt_addr} at RCPT.
--
--   MILTER_PORT=8895 miltertest -s integration/miltertest/macros.lua
--
-- Checks: every step still gets its normal reply with macros present; an authenticated
-- message without X-Test-Action passes unmodified, and so does a second transaction on the
-- same connection with a different {i} and no {auth_authen} (macros of one transaction must
-- not leak into the next), and a message with X-Test-Action: add-header then still gets its
-- header (the macros do not disturb the EOM actions).
local dir = (debug.getinfo(1, "S").source:gsub("^@", "")):match("^(.*/)") or "./"
dofile(dir .. "common.lua")

T.main(function()
  mt.echo("*** macros: " .. T.sock)
  local conn = T.connect({
    connect = { "j", "mx.example.net", "{daemon_name}", "smtpd", "{client_addr}", "192.0.2.10" },
    helo = { "{tls_version}", "TLSv1.3" },
  })

  -- transaction 1: authenticated submission
  local early = T.transaction(conn, {
    id = "4BQX2F0AAA",
    headers = T.message(nil),
    macros = {
      mail = { "{auth_type}", "PLAIN", "{auth_authen}", "alice@example.org", "{mail_addr}", "sender@example.org" },
      rcpt = { "{rcpt_addr}", "user@vm.example.net" },
    },
  })
  local r = mt.getreply(conn)
  T.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "transaction 1: reply " .. T.replyname(r) .. ", want ACCEPT")
  if not early then T.no_modifications(conn, "transaction 1") end
  mt.echo("    transaction 1 ({i}=4BQX2F0AAA, {auth_authen}=alice@example.org): accepted unmodified" ..
    (early and " at end of headers" or ""))

  -- transaction 2 on the same connection, no auth macros
  early = T.transaction(conn, { id = "4BQX2F0BBB", headers = T.message(nil) })
  r = mt.getreply(conn)
  T.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "transaction 2: reply " .. T.replyname(r) .. ", want ACCEPT")
  if not early then T.no_modifications(conn, "transaction 2") end
  mt.echo("    transaction 2 ({i}=4BQX2F0BBB, unauthenticated): accepted unmodified" ..
    (early and " at end of headers" or ""))

  -- transaction 3: with an action, macros present
  early = T.transaction(conn, {
    id = "4BQX2F0CCC",
    headers = T.message("add-header"),
    macros = { mail = { "{auth_type}", "PLAIN", "{auth_authen}", "bob@example.org" } },
  })
  T.check(not early, "transaction 3: accepted at end of headers despite X-Test-Action")
  r = mt.getreply(conn)
  T.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "transaction 3: EOM reply " .. T.replyname(r) .. ", want ACCEPT")
  T.check(mt.eom_check(conn, MT_HDRADD, "X-Test-Added", T.hv(conn, "yes")) or mt.eom_check(conn, MT_HDRINSERT, "X-Test-Added", T.hv(conn, "yes")),
    "transaction 3: X-Test-Added: yes not added (got " .. string.format("%q", tostring(mt.getheader(conn, "X-Test-Added", 0))) .. ")")
  mt.echo("    transaction 3 ({i}=4BQX2F0CCC, add-header): X-Test-Added: yes")
  mt.disconnect(conn)
  mt.echo("*** macros: all checks passed")
end)
