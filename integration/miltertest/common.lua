-- common.lua: helpers shared by the vpim-milter miltertest scripts (loaded with dofile).
--
-- miltertest (OpenDKIM, Debian package "miltertest") is a libmilter-based MTA simulator: it
-- speaks the milter protocol to a running filter independently of the Go library vpim-milter
-- is built on. The scripts talk to the filter at
--   MILTER_SOCK   a libmilter socket spec (inet:PORT@HOST or unix:/path), or else
--   MILTER_PORT   a TCP port on 127.0.0.1 (inet:$MILTER_PORT@127.0.0.1)
-- and exit 0 when every check passed. A failed check prints "FAIL: reason" and exits 1
-- (miltertest prints no Lua error text of its own, so fail() echoes it first).

T = {}

T.sock = os.getenv("MILTER_SOCK")
if T.sock == nil or T.sock == "" then
  local port = os.getenv("MILTER_PORT")
  if port == nil or port == "" then
    mt.echo("FAIL: set MILTER_PORT (TCP port on 127.0.0.1) or MILTER_SOCK (inet:PORT@HOST, unix:/path)")
    error("no milter address")
  end
  T.sock = "inet:" .. port .. "@127.0.0.1"
end

function T.fail(msg)
  error("FAIL: " .. msg, 0)
end

function T.check(cond, msg)
  if not cond then T.fail(msg) end
end

-- T.ok(err, what): mt.* commands return nil on success or an error string
function T.ok(err, what)
  if err ~= nil then T.fail(what .. ": " .. tostring(err)) end
end

local names = {
  [SMFIR_ACCEPT] = "ACCEPT", [SMFIR_CONTINUE] = "CONTINUE", [SMFIR_DISCARD] = "DISCARD",
  [SMFIR_REJECT] = "REJECT", [SMFIR_TEMPFAIL] = "TEMPFAIL", [SMFIR_REPLYCODE] = "REPLYCODE",
  [SMFIR_SKIP] = "SKIP",
}

-- T.replyname(r): SMFIR_* constant as text, for messages
function T.replyname(r)
  return names[r] or ("0x" .. string.format("%02x", r or 0))
end

-- T.expect(conn, nrflag, what, ...): unless the filter negotiated the "no reply" flag nrflag
-- (SMFIP_NR_*) for this step, its reply must be one of the given SMFIR_* values (default
-- CONTINUE). A filter that opted out of a step's reply sends nothing, so mt.getreply would
-- only repeat the previous reply.
function T.expect(conn, nrflag, what, ...)
  if nrflag ~= nil and mt.test_option(conn, nrflag) then return end
  local want = { ... }
  if #want == 0 then want = { SMFIR_CONTINUE } end
  local got = mt.getreply(conn)
  for _, w in ipairs(want) do
    if got == w then return end
  end
  local wn = {}
  for _, w in ipairs(want) do wn[#wn + 1] = T.replyname(w) end
  T.fail(what .. ": reply " .. T.replyname(got) .. ", want " .. table.concat(wn, " or "))
end

-- T.skipped(conn, noflag): the filter negotiated SMFIP_NO* for a step, so the MTA does not
-- send it (miltertest refuses to send it, too)
function T.skipped(conn, noflag)
  return noflag ~= nil and mt.test_option(conn, noflag)
end

-- T.step(conn, noflag, nrflag, what, replies, fn, ...): send one protocol step with fn unless
-- the filter opted out of it (noflag), then check its reply (see T.expect). Returns false
-- when the step was skipped.
function T.step(conn, noflag, nrflag, what, replies, fn, ...)
  if T.skipped(conn, noflag) then return false end
  T.ok(fn(conn, ...), what)
  T.expect(conn, nrflag, what, table.unpack(replies or {}))
  return true
end

-- T.connect(macros): a connection with the SMTP connect and HELO steps done (and checked);
-- macros.connect / macros.helo are name, value lists for mt.macro
function T.connect(macros)
  local okc, conn = pcall(mt.connect, T.sock, 40, 0.25)
  T.check(okc and conn ~= nil, "cannot connect to the milter at " .. T.sock)
  -- negotiate now (libmilter defaults: version 6, all actions and steps offered) so that
  -- the filter's SMFIP_NO* choices are known before the first step
  T.ok(mt.negotiate(conn, nil, nil, nil), "negotiate")
  if macros and macros.connect then
    T.ok(mt.macro(conn, SMFIC_CONNECT, table.unpack(macros.connect)), "macro connect")
  end
  T.step(conn, SMFIP_NOCONNECT, SMFIP_NR_CONN, "connect", nil, mt.conninfo, "client.example.org", "192.0.2.10")
  if macros and macros.helo then
    T.ok(mt.macro(conn, SMFIC_HELO, table.unpack(macros.helo)), "macro helo")
  end
  T.step(conn, SMFIP_NOHELO, SMFIP_NR_HELO, "helo", nil, mt.helo, "client.example.org")
  return conn
end

-- T.transaction(conn, opts): one SMTP transaction up to and including end-of-message.
-- opts.id (queue ID for {i}), opts.headers ({name, value} pairs), opts.body (string),
-- opts.macros ({mail = {...}, rcpt = {...}}). Returns true when the filter already accepted
-- at end of headers (vpim-milter's fast path: no end-of-message is sent then, and there is
-- nothing for mt.eom_check); else read the EOM result with mt.getreply / mt.eom_check.
function T.transaction(conn, opts)
  local mail = { "i", opts.id or "4BQX2F0ABC" }
  if opts.macros and opts.macros.mail then
    for _, v in ipairs(opts.macros.mail) do mail[#mail + 1] = v end
  end
  T.ok(mt.macro(conn, SMFIC_MAIL, table.unpack(mail)), "macro mail")
  T.step(conn, SMFIP_NOMAIL, SMFIP_NR_MAIL, "MAIL FROM", nil, mt.mailfrom, "<sender@example.org>")
  if opts.macros and opts.macros.rcpt then
    T.ok(mt.macro(conn, SMFIC_RCPT, table.unpack(opts.macros.rcpt)), "macro rcpt")
  end
  T.step(conn, SMFIP_NORCPT, SMFIP_NR_RCPT, "RCPT TO", nil, mt.rcptto, "<user@vm.example.net>")
  T.step(conn, SMFIP_NODATA, SMFIP_NR_DATA, "DATA", nil, mt.data)
  for _, h in ipairs(opts.headers) do
    T.step(conn, SMFIP_NOHDRS, SMFIP_NR_HDR, "header " .. h[1], { SMFIR_CONTINUE, SMFIR_SKIP }, mt.header, h[1], h[2])
  end
  -- a filter may decide at end of headers already (vpim-milter's fast path answers ACCEPT)
  local sent = T.step(conn, SMFIP_NOEOH, SMFIP_NR_EOH, "end of headers", { SMFIR_CONTINUE, SMFIR_ACCEPT }, mt.eoh)
  local early = sent and not mt.test_option(conn, SMFIP_NR_EOH) and mt.getreply(conn) == SMFIR_ACCEPT
  if early then
    -- the message is decided: an MTA sends neither body nor end-of-message to this filter,
    -- and aborts the filter's transaction before the next MAIL on the connection
    T.ok(mt.abort(conn), "abort after ACCEPT at end of headers")
    return true
  end
  T.step(conn, SMFIP_NOBODY, SMFIP_NR_BODY, "body", { SMFIR_CONTINUE, SMFIR_SKIP }, mt.bodystring,
    opts.body or "original body line 1\r\noriginal body line 2\r\n")
  T.ok(mt.eom(conn), "eom")
  return false
end

-- T.main(fn): run the script body; any Lua error is echoed as FAIL (miltertest itself only
-- exits 1 without saying why)
function T.main(fn)
  local okm, err = pcall(fn)
  if not okm then
    local m = tostring(err)
    if not m:find("^FAIL") then m = "FAIL: " .. m end
    mt.echo(m)
    error(m, 0)
  end
end

-- T.message(action): the headers of a test message whose X-Test-Action is action (nil: none)
function T.message(action)
  local h = {
    { "From", "Sender <sender@example.org>" },
    { "To", "user@vm.example.net" },
    { "Subject", "original subject" },
    { "Message-ID", "<miltertest.1@example.org>" },
  }
  if action ~= nil then h[#h + 1] = { "X-Test-Action", action } end
  return h
end

-- T.hv(conn, value): a header value as the filter sends it. With SMFIP_HDR_LEADSPC
-- negotiated the filter sends the exact bytes after the colon, i.e. with the leading space
-- that ends up in the delivered field ("X-Test-Added: yes"); without it the MTA adds one.
function T.hv(conn, value)
  if mt.test_option(conn, SMFIP_HDR_LEADSPC) then return " " .. value end
  return value
end

-- T.no_modifications(conn, what): the EOM reply carried no header, body or recipient change
function T.no_modifications(conn, what)
  for _, op in ipairs({
    { MT_HDRADD, "header added" }, { MT_HDRINSERT, "header inserted" },
    { MT_HDRCHANGE, "header changed" }, { MT_HDRDELETE, "header deleted" },
    { MT_BODYCHANGE, "body replaced" }, { MT_QUARANTINE, "quarantined" },
  }) do -- (MT_RCPTADD/MT_RCPTDELETE cannot be asked without an address in miltertest 2.11)
    T.check(not mt.eom_check(conn, op[1]), what .. ": unexpected modification: " .. op[2])
  end
end
