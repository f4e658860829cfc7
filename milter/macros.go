package milter

import gomilter "github.com/d--j/go-milter"

// Stage is a step of the milter protocol at which the MTA sends macros.
type Stage string

// The stages at which the filter reads macros, named as in the MTAs' settings (Postfix
// milter_<stage>_macros, Sendmail confMILTER_MACROS_<STAGE>).
const (
	StageConnect Stage = "connect" // Postfix milter_connect_macros, Sendmail confMILTER_MACROS_CONNECT
	StageHelo    Stage = "helo"    // milter_helo_macros, confMILTER_MACROS_HELO
	StageMail    Stage = "mail"    // milter_mail_macros, confMILTER_MACROS_ENVFROM
	StageRcpt    Stage = "rcpt"    // milter_rcpt_macros, confMILTER_MACROS_ENVRCPT
	StageEOH     Stage = "eoh"     // milter_end_of_header_macros, confMILTER_MACROS_EOH
	StageEOM     Stage = "eom"     // milter_end_of_data_macros, confMILTER_MACROS_EOM
)

// The macros the filter reads; every read goes through these names (TestMacroReads).
const (
	macroQueueID    = "i"             // the MTA's queue ID
	macroAuthAuthen = "{auth_authen}" // the SMTP AUTH login
	macroClientAddr = "{client_addr}" // the SMTP client's IP address
)

// Macro is one MTA macro the filter reads: its name, the stage it reads it at and what
// for.
type Macro struct {
	Name  string // "i", "{auth_authen}"
	Stage Stage
	Use   string
}

// Macros lists every macro the filter reads, at each stage it reads it. New asks the MTA
// for exactly these in the milter negotiation (protocol 6, the macro lists of
// SMFIC_OPTNEG); Postfix and Sendmail then send them to vpim-milter in place of their own
// lists for that stage. The contrib snippets list them too (TestSnippetMacros), and README
// "MTA macros" documents them.
func Macros() []Macro {
	const qid = "queue ID in the log lines and the bridge jobs"
	return []Macro{
		{macroQueueID, StageMail, qid + " (Sendmail; Postfix assigns it later)"},
		{macroAuthAuthen, StageMail, "SMTP AUTH login: who may dial (telephony.allowed_logins)"},
		{macroClientAddr, StageMail, "client address: who may dial without a login (telephony.trusted_networks)"},
		{macroQueueID, StageRcpt, qid + " (Postfix, after the first recipient)"},
		{macroQueueID, StageEOH, qid},
		{macroQueueID, StageEOM, qid},
	}
}

// macroRequests turns Macros into go-milter's negotiation options, one per stage.
func macroRequests() []gomilter.Option {
	stages := map[Stage]gomilter.MacroStage{
		StageConnect: gomilter.StageConnect, StageHelo: gomilter.StageHelo, StageMail: gomilter.StageMail,
		StageRcpt: gomilter.StageRcpt, StageEOH: gomilter.StageEOH, StageEOM: gomilter.StageEOM,
	}
	var order []Stage
	names := map[Stage][]gomilter.MacroName{}
	for _, m := range Macros() {
		if names[m.Stage] == nil {
			order = append(order, m.Stage)
		}
		names[m.Stage] = append(names[m.Stage], m.Name)
	}
	opts := make([]gomilter.Option, 0, len(order))
	for _, s := range order {
		opts = append(opts, gomilter.WithMacroRequest(stages[s], names[s]))
	}
	return opts
}
