// Package milter is the adapter between the MTA and the profile engine: it
// listens for Postfix or Sendmail (milter protocol v6, through
// github.com/d--j/go-milter), collects each transaction's envelope, header
// and body (spooled to memory, then a temporary file), asks the engine for a
// [profile.Plan] and applies it through the milter modifier. Voice-bound
// recipients go to a [Bridge] (a *telephony.Gateway): the adapter only
// translates the transaction into the gateway's request (bridge.go); the
// decoding and the spool are the telephony package's.
//
// Voice-bound recipients are staged (Bridge.Stage) before the answer is
// decided and committed only with an accept, after a last check that the
// MTA is still waiting for it (transaction.go, commit); a tempfail, a
// reject, an abort or a lost connection discards them.
//
// The milter asks the MTA not to read its replies to MAIL, header fields
// and body chunks (SMFIP_NR_*). A failure there (a body that cannot be
// spooled, a panic) is answered at the next stage whose reply the MTA reads
// (session.go, fail): each RCPT is refused with it, and the end of headers
// or the end of message ends the transaction with it.
//
// Bounds: at most MaxSessions connections; message bodies of all sessions
// share BodyMemoryTotal of memory before they go to temporary files, and
// milter packets over 64 KiB are counted there while they are read; a
// connection idle outside a transaction is closed after IdleTimeout; the
// data size negotiated with the MTA is always 64 KiB (negotiate). Every
// read of the body at end of message ends with EvalTimeout, and the MTA
// gets SMFIR_PROGRESS every ProgressInterval while the milter evaluates
// and hands off.
//
// Modes (mode.go, on.go): [Options.decide] is the one place where the
// profile's decision (verdict, condition, rule) becomes what happens, per
// [OnOptions]; in [ModeReport] the outcome is only logged, stamped and
// counted, and the message passes as it came. Every voice message gets the
// [StampField] stamp (stamp.go), and received copies that claim AuthservID
// are removed. [Macros] lists every MTA macro the filter reads; the
// negotiation asks for exactly these.
//
// The per-message path is kept short, because an MTA opens a milter
// connection for every SMTP session: the frameGuard (listen.go) buffers
// the MTA's packets so one read serves many, applies ReadTimeout,
// WriteTimeout, IdleTimeout and the negotiation timeout itself when a read
// or write reaches the socket (go-milter runs without timeouts, which
// would cost a clock read and two timer updates per packet), writes each
// reply packet in one system call, and drops the header-stage macro
// packets nothing reads. tools/bench/mta measures the whole against
// libmilter through a real Postfix.
//
// It is the only package that imports go-milter. The offline commands
// (check, rewrite) run the very same transaction code through [Offline], so
// the milter and the command line can never disagree.
package milter
