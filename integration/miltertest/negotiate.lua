-- negotiate.lua: milter option negotiation with vpim-milter (protocol 6, as Postfix with
-- milter_protocol = 6 and Sendmail 8.14+ offer it).
--
--   MILTER_PORT=8895 miltertest -s integration/miltertest/negotiate.lua
--
-- Checks: negotiation succeeds with libmilter's defaults (all actions and steps offered);
-- the filter requests exactly the actions vpim-milter needs to rewrite voice mail and hand
-- recipients to the telephony bridge (add/change headers, replace body, add/delete
-- recipients) and does not ask for actions it never uses; a connect and HELO get CONTINUE;
-- a message without X-Test-Action passes unmodified.
local dir = (debug.getinfo(1, "S").source:gsub("^@", "")):match("^(.*/)") or "./"
dofile(dir .. "common.lua")

T.main(function()
  mt.echo("*** negotiate: " .. T.sock)
  local okc, conn = pcall(mt.connect, T.sock, 40, 0.25)
  T.check(okc and conn ~= nil, "cannot connect to the milter at " .. T.sock)
  -- version 6, libmilter's default action and step masks
  T.ok(mt.negotiate(conn, 6, nil, nil), "negotiate")

  for _, a in ipairs({
    { SMFIF_ADDHDRS, "SMFIF_ADDHDRS" }, { SMFIF_CHGHDRS, "SMFIF_CHGHDRS" },
    { SMFIF_CHGBODY, "SMFIF_CHGBODY" }, { SMFIF_ADDRCPT, "SMFIF_ADDRCPT" },
    { SMFIF_DELRCPT, "SMFIF_DELRCPT" },
  }) do
    T.check(mt.test_action(conn, a[1]), "filter did not request " .. a[2])
  end
  mt.echo("    actions: ADDHDRS CHGHDRS CHGBODY ADDRCPT DELRCPT requested")
  local skipped = {}
  for _, o in ipairs({
    { SMFIP_NOCONNECT, "connect" }, { SMFIP_NOHELO, "helo" }, { SMFIP_NOMAIL, "mail" },
    { SMFIP_NORCPT, "rcpt" }, { SMFIP_NODATA, "data" }, { SMFIP_NOHDRS, "headers" },
    { SMFIP_NOEOH, "eoh" }, { SMFIP_NOBODY, "body" },
  }) do
    if mt.test_option(conn, o[1]) then skipped[#skipped + 1] = o[2] end
  end
  mt.echo("    steps the filter skips: " .. (#skipped > 0 and table.concat(skipped, " ") or "none"))
  -- vpim-milter assigns a target per recipient and reads headers; it cannot skip those
  T.check(not mt.test_option(conn, SMFIP_NORCPT), "filter skips RCPT, but it must see every recipient")
  T.check(not mt.test_option(conn, SMFIP_NOHDRS), "filter skips headers, but voice mail is detected from them")

  -- connect + HELO through the negotiated steps
  T.step(conn, SMFIP_NOCONNECT, SMFIP_NR_CONN, "connect", nil, mt.conninfo, "client.example.org", "192.0.2.10")
  T.step(conn, SMFIP_NOHELO, SMFIP_NR_HELO, "helo", nil, mt.helo, "client.example.org")

  -- a plain message: accepted, no modification at all
  local early = T.transaction(conn, { headers = T.message(nil) })
  local r = mt.getreply(conn)
  T.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "plain message: reply " .. T.replyname(r) .. ", want ACCEPT")
  if not early then T.no_modifications(conn, "plain message") end
  mt.echo("    plain message: accepted unmodified" .. (early and " at end of headers" or ""))
  mt.disconnect(conn)
  mt.echo("*** negotiate: all checks passed")
end)
