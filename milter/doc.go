// Package milter is the adapter between the MTA and the profile engine: it
// listens for Postfix or Sendmail (milter protocol v6, through
// github.com/d--j/go-milter), collects each transaction's envelope, header
// and body (spooled to memory, then a temporary file), asks the engine for a
// [profile.Plan] and applies it through the milter modifier. Voice-bound
// recipients go to a [Bridge] (a *telephony.Gateway): the adapter only
// translates the transaction into the gateway's request (bridge.go); the
// decoding and the spool are the telephony package's.
//
// It is the only package that imports go-milter. The offline commands
// (check, rewrite) run the very same transaction code through [Offline], so
// the milter and the command line can never disagree.
package milter
