-- actions.lua: the modifications and replies vpim-milter sends at end of message, driven by
-- the X-Test-Action header of the lead's test engine (milter/testengine), each case in its
-- own SMTP transaction on its own connection, then two cases on one connection.
--
--   MILTER_PORT=8895 miltertest -s integration/miltertest/actions.lua
--
--   add-header     -> SMFIR_ADDHEADER (or INSHEADER) X-Test-Added: yes
--   change-header  -> SMFIR_CHGHEADER Subject: changed
--   replace-body   -> SMFIR_REPLBODY "replaced body\r\n"
--   reject         -> SMFIR_REPLYCODE "550 5.7.1 rejected by test"
-- Every case also checks that nothing else was modified.
local dir = (debug.getinfo(1, "S").source:gsub("^@", "")):match("^(.*/)") or "./"
dofile(dir .. "common.lua")

local function accepted(conn, what)
  local r = mt.getreply(conn)
  T.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, what .. ": EOM reply " .. T.replyname(r) .. ", want ACCEPT")
end

-- check_only(conn, what, allowed): no modification except the allowed MT_* ops
local function check_only(conn, what, allowed)
  local ops = {
    { MT_HDRADD, "header added" }, { MT_HDRINSERT, "header inserted" },
    { MT_HDRCHANGE, "header changed" }, { MT_HDRDELETE, "header deleted" },
    { MT_BODYCHANGE, "body replaced" }, { MT_QUARANTINE, "quarantined" },
  }
  for _, op in ipairs(ops) do
    if not allowed[op[1]] then
      T.check(not mt.eom_check(conn, op[1]), what .. ": unexpected modification: " .. op[2])
    end
  end
end

local cases = {
  {
    action = "add-header",
    check = function(conn)
      accepted(conn, "add-header")
      T.check(mt.eom_check(conn, MT_HDRADD, "X-Test-Added", T.hv(conn, "yes")) or mt.eom_check(conn, MT_HDRINSERT, "X-Test-Added", T.hv(conn, "yes")),
        "add-header: X-Test-Added: yes not added (got " .. string.format("%q", tostring(mt.getheader(conn, "X-Test-Added", 0))) .. ")")
      check_only(conn, "add-header", { [MT_HDRADD] = true, [MT_HDRINSERT] = true })
    end,
  },
  {
    action = "change-header",
    check = function(conn)
      accepted(conn, "change-header")
      T.check(mt.eom_check(conn, MT_HDRCHANGE, "Subject"), "change-header: Subject not changed")
      T.check(mt.eom_check(conn, MT_HDRCHANGE, "Subject", T.hv(conn, "changed")),
        "change-header: Subject changed, but not to exactly \"changed\"")
      check_only(conn, "change-header", { [MT_HDRCHANGE] = true })
    end,
  },
  {
    action = "replace-body",
    check = function(conn)
      accepted(conn, "replace-body")
      T.check(mt.eom_check(conn, MT_BODYCHANGE), "replace-body: body not replaced")
      T.check(mt.eom_check(conn, MT_BODYCHANGE, "replaced body\r\n"),
        "replace-body: body replaced, but not with exactly \"replaced body\\r\\n\"")
      check_only(conn, "replace-body", { [MT_BODYCHANGE] = true })
    end,
  },
  {
    action = "reject",
    check = function(conn)
      local r = mt.getreply(conn)
      T.check(r == SMFIR_REPLYCODE, "reject: EOM reply " .. T.replyname(r) .. ", want REPLYCODE")
      -- miltertest compares "code esc text" exactly; it needs all three parts
      T.check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", "rejected by test"),
        "reject: reply is not exactly \"550 5.7.1 rejected by test\"")
      check_only(conn, "reject", {})
    end,
  },
}

T.main(function()
  mt.echo("*** actions: " .. T.sock)
  for i, c in ipairs(cases) do
    local conn = T.connect()
    local early = T.transaction(conn, { id = string.format("4BQX2F%04d", i), headers = T.message(c.action) })
    T.check(not early, c.action .. ": filter accepted at end of headers, before the body")
    c.check(conn)
    mt.disconnect(conn)
    mt.echo("    " .. c.action .. ": ok")
  end

  -- two transactions on one connection: the reject must not stick to the next message, and
  -- the next message's modification must be its own
  local conn = T.connect()
  T.transaction(conn, { id = "4BQX2F0101", headers = T.message("reject") })
  cases[4].check(conn)
  T.transaction(conn, { id = "4BQX2F0102", headers = T.message("replace-body") })
  cases[3].check(conn)
  mt.disconnect(conn)
  mt.echo("    reject then replace-body on one connection: ok")
  mt.echo("*** actions: all checks passed")
end)
