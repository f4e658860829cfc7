// Package telephony is the voice bridge of vpim-milter: a durable spool of
// call jobs, the outdial policy, a worker that places the calls through a
// back-end, and RFC 3464 delivery status notifications (DESIGN flow steps 4
// and 6).
//
// # Gateway: the hand-off from the milter
//
// Gateway is the bridge as the milter sees it (DESIGN flow steps 1 and 4).
// Gateway.Admit runs at RCPT for each voice-bound recipient, with the
// transaction's Admission (who asks: envelope sender, SMTP AUTH login,
// client address; and the numbers admitted so far): the address must be a
// VOICE=, VPIM= or AMIS= address with a dialable number (profile/addr,
// RFC 3804; else 553 5.1.3), the caller and the number must pass the
// outdial policy (550 5.7.1), the message may call at most
// MaxCallsPerMessage distinct numbers (452 4.5.3) and the rate limits
// must allow one more call (450 4.7.1). Gateway.Stage runs at end of
// message, before the milter answers: it decodes the voice part it is
// given to 8 kHz PCM once, then writes one durable job per distinct
// normalised number into staging/ with NOTIFY and ORCPT of the first
// recipient's RCPT that asked for it, ENVID of MAIL (RFC 3461) and
// Message-ID, Subject and the header block of the message.
// The milter commits the staged jobs (Staged.Commit: rename into new/,
// and the calls count for the rate limits) only once it has decided to
// accept the message and the MTA is still waiting for that answer; a
// tempfail, a reject, an abort or a lost connection discards them
// (Staged.Discard; the Admission gives their rate-limit counts back), and
// a crash in between leaves them in staging/, which the next start
// empties. So an MTA retry never calls twice. What remains: the accept
// has been sent but the MTA dies before it has queued the message; it then
// offers the message again and the call is placed twice (at-least-once,
// as everywhere here). Gateway.HandOff is Stage and Commit in one step.
//
// Refusals at end of message: mail that can never be played (no audio
// part, audio that does not decode, no samples) gets 554 5.6.1; audio
// longer than MaxAudio (or codec.max_duration) 552 5.3.4, as soon as the
// decoder passes the limit; a spool that would pass MaxSpoolBytes (or a
// file system without room) 452 4.3.1, so that the MTA keeps the mail. The
// decoding honours the milter's evaluation deadline (checked every 8 s of
// audio). Any other failure is temporary and the milter tempfails the
// message, so nothing is lost.
//
// The request (Message, Recipient, Voice) is neutral: plain strings, the
// header block as bytes and an opener for the voice part. The milter fills
// it; this package imports neither go-milter nor the profile engine (only
// the address parser profile/addr and the codecs), so the bridge and its
// worker stay usable without the mail rules, and the profile engine
// decides which part is the voice. A configuration reload builds a new
// Gateway; the milter swaps it in with its other options.
//
// # Outdial policy
//
// Policy.CheckCaller and Policy.CheckNumber run at RCPT for bridge-bound
// recipients and return a *RejectError carrying the SMTP reply (550 5.7.1
// for refusals, RFC 3804 §5 and DIGEST §4.1 "Security"; 553 5.1.3 for
// numbers that cannot be dialled) and, for the log, the rule and the
// normalised number. A caller is authorised by its SMTP AUTH login or its
// client network, or, when neither list is configured, by its envelope
// sender alone (weak). A number is first normalised to E.164 with the home
// country's dialling rules (numbering.go: international and trunk
// prefixes); that form is checked and dialled. Deny patterns win;
// emergency numbers are refused, also behind a PBX's outside-line digit or
// the trunk prefix ("9911", "1911"); premium-rate ranges per country and
// the non-geographic premium and satellite codes (979, 808, 870, 881-883),
// and NANP numbers outside the USA and Canada (nanp.go) open only with an
// allow pattern that names them; international numbers are refused unless
// allowed; a local number (extension) has at most 8 digits.
//
// # Rate limits
//
// Calls accepted into the spool are counted per sender (login, else
// client address, else envelope sender: senderKey) and per number in a sliding window (Options.RateLimit).
// The counts live with the Spool, so every Gateway built on it (a reload)
// shares them, and after a restart they are read back from the jobs
// created within the window.
//
// # Spool format (version 1)
//
// The spool is a directory tree on one file system:
//
//	spool_dir/tmp/<id>/      job being written by Enqueue (never a job)
//	spool_dir/staging/<id>/  written for a transaction the milter has not
//	                         accepted yet (never claimed; emptied at start)
//	spool_dir/new/<id>/      queued; due when next_attempt <= now
//	spool_dir/active/<id>/   claimed by a worker (a call may be in progress)
//	spool_dir/done/<id>/     delivered
//	spool_dir/failed/<id>/   failed for good (permanent error or expired)
//	spool_dir/done/.prune-<id>/ (or failed/) being removed (never a job)
//
// A job is a directory with two files:
//
//   - audio.wav: canonical WAV, 44-byte header, PCM 16-bit little endian,
//     mono, 8000 Hz. Asterisk plays it as ".wav"; diago streams it.
//   - job.json: the JSON form of Job: version, id, meta (queue_id, sender,
//     recipient, number, message_id, subject, duration in ns, notify, envid,
//     orcpt, header = base64 of the original header block), samples,
//     created, expires, attempts, next_attempt, history (start, end,
//     outcome, status, diagnostic per attempt), final (set once the outcome
//     is final), dsn, dsn_attempts, delay_dsn (the "delayed" DSN: "sent",
//     "not-requested", "null-sender", "disabled", "failed: ..."; absent
//     while none was due). Times are RFC 3339.
//
// Enqueue writes both files in tmp/<id>/, fsyncs them and the directory,
// renames the directory to new/<id>/ and fsyncs new/; only then does the
// milter accept the message. If any step fails, Enqueue removes tmp/<id>/,
// nothing is visible in new/, and the milter tempfails the message.
//
// A worker claims a job by renaming new/<id> to active/<id> (one rename
// wins). After a temporary failure it rewrites job.json (temp file, fsync,
// rename) with the next attempt time and renames the job back to new/.
// When job.json cannot be rewritten (a full disk), the job stays in
// active/ and the worker keeps its state in memory: it is tried again at
// its next attempt time, never sooner (after a restart such a job is
// recovered with the state it had on disk, and may be called early once).
// A final job goes to done/ or failed/ after its DSN was sent; the worker
// then sets the job directory's modification time to the filing time (the
// rename does not change it), and that is the job's completion time.
//
// An external bridge (backend = "spool") follows the same protocol: claim
// by rename into active/, then rename into done/ or failed/ (or back to
// new/ with an updated job.json), and does its own DSNs.
//
// # Retention
//
// The worker (Bridge.Run) calls Spool.Prune at start and then hourly: jobs
// in done/ completed more than KeepDone ago (default 7 days) and jobs in
// failed/ completed more than KeepFailed ago (default 30 days) are renamed
// to .prune-<id> in the same directory and removed with all their files.
// KeepForever (in the configuration file: "0s") keeps them. Prune never
// touches tmp/, new/ or active/. With backend = "spool" no worker runs and
// nothing is pruned: done/ and failed/ belong to the external bridge.
//
// # Metrics
//
// With Options.Metrics set (NewMetrics), the worker counts claims, attempts
// by result, jobs filed by outcome, DSNs sent and failed by action, and
// pruned jobs; the calls in progress and the jobs per state directory are
// read when scraped. Metrics.Collect writes them as the vpim_bridge_*
// Prometheus families (README.md lists them). The counters start at zero
// with the process, as Prometheus counters do.
//
// # Reload
//
// A configuration reload builds a new Gateway (outdial policy, allowed
// senders) and calls Bridge.Reload with the new Options: jobs claimed
// afterwards use the new retry schedule, expiry, attempt timeout,
// retention, DSN settings and back-end section (for SIP the trunk, caller
// ID, ring timeout, replays and credentials), calls in progress finish
// with the old ones. Options.RestartRequired names what a running bridge
// cannot change (back-end, spool, concurrency, the SIP stack's listen
// address and codecs); Reload refuses such a change and changes nothing.
//
// # At-least-once
//
// A job is never lost: when the daemon starts, every job left in active/
// (a crash or kill -9 during a call) goes back to new/ and is tried again,
// so a call that was in progress may be repeated once. A DSN may likewise
// be sent twice if the daemon dies between sending it and filing the job.
// Run one worker (Bridge.Run) per spool: a second worker starting up would
// put the first one's active jobs back in the queue. Any number of
// processes may Enqueue; a process that stages jobs (Gateway.Stage) should
// not share the spool with another one starting up, which empties
// staging/ (the other one's transaction is then tempfailed, never lost).
//
// # Retries and expiry
//
// An attempt lasts at most AttemptTimeout, ring and playback together: the
// SIP back-end hangs up (BYE) when it is reached, the exec back-end's
// process group gets SIGTERM and then SIGKILL, an Asterisk call file
// carries TIMEOUT(absolute) for the time left. A cut attempt is retried
// (4.4.7), unless the message alone is longer than AttemptTimeout (5.3.4,
// final). At shutdown the worker claims no more jobs and lets the calls in
// progress go on for DrainTimeout (milter.drain_timeout), then cuts them:
// such an attempt counts, with outcome "interrupted" and status 4.3.2, and
// the job goes back to new/ for its next attempt on the schedule. The
// systemd unit's TimeoutStopSec leaves room for that.
//
// Busy (486, 600), no answer (408, 480, 487, ring timeout), 5xx and
// timeouts are retried after Retry[n-1] (the last entry repeats); 404, 484,
// 604 (5.1.1), 403, 603 (5.7.1), 401 and 407 that digest authentication
// did not satisfy (5.7.0), 415, 488, 606 (5.6.1) and other 4xx/6xx
// (5.4.0) are final. A temporary failure whose next attempt would fall after
// Expire becomes final with Action: failed and its 4.x.x status (DIGEST §5:
// busy 4.4.1 until expiry, then failed). A hang-up during playback is a
// temporary failure (4.4.2).
//
// # Back-ends
//
//   - spool: no worker; jobs wait for an external bridge.
//   - sip: diago/sipgo; see SIPBackend.
//   - asterisk: call files; see AsteriskBackend.
//   - exec: Command Args... <job dir>, no shell, environment only PATH.
//     Exit codes: 0 delivered; 10 busy (4.4.1) and 11 no answer (4.4.1),
//     retried; 20 unknown number (5.1.1), 21 refused (5.7.1), 22 media
//     (5.6.1), 29 other permanent (5.4.0), final; 75 (EX_TEMPFAIL) and
//     any other code, a signal or a timeout: temporary (4.4.0 / 4.4.7). The
//     first line of stdout becomes the DSN's Diagnostic-Code (sanitised).
//
// # DSNs
//
// On a final failure (unless NOTIFY=NEVER or NOTIFY lacks FAILURE) and on
// success when NOTIFY contains SUCCESS, an RFC 3464 multipart/report goes
// to the envelope sender (never to <>) through the local MTA over SMTP
// with MAIL FROM:<>: text/plain, message/delivery-status (Final-Recipient,
// Action, Status, Diagnostic-Code: X-SIP; ..., Original-Envelope-Id and
// Original-Recipient from ENVID/ORCPT) and text/rfc822-headers with the
// original header block.
//
// Delay warnings (Postfix delay_warning_time): when a temporary failure
// will be retried and DSN.DelayAfter (default 4h; DelayNever, "0s" in the
// file, turns them off) has passed since the job was enqueued, one DSN
// with Action: delayed goes out (RFC 3464 §2.3.3), with the Status and
// Diagnostic-Code of that failure (4.4.1 busy or no answer, 4.4.0 SIP 5xx,
// ...) and Will-Retry-Until: the job's expiry (§2.3.9). RFC 3461 §5.2.5:
// it is sent when NOTIFY contains DELAY, and also when NOTIFY is absent
// (§4.1 lets that be read as FAILURE,DELAY, as MTAs do for their delay
// warnings); never for NOTIFY=NEVER or a NOTIFY list without DELAY, never to
// <>. The decision is stored in job.json (delay_dsn) in the same atomic
// rewrite as the next attempt time, so later attempts and restarts do not
// send it again; a failed submission is logged and tried again after the
// next temporary failure. As with the final DSN, a crash between sending
// and that rewrite may repeat it once. A job that succeeds or fails for
// good before DelayAfter gets no delay warning, only its usual DSN.
//
// # Untrusted text
//
// Subject, sender and names come from mail. They reach call files only
// through a whitelist sanitiser (no CR/LF, ";", "#", "$", "{}", "[]", "\",
// ","), DSN fields only as single sanitised lines, and never the dial
// string or a command line (the number is "+" and digits only).
package telephony
