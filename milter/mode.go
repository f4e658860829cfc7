package milter

// Mode is whether the filter carries out its decisions or only reports them.
type Mode string

// The modes of [milter] mode and target_modes.
const (
	// ModeEnforce carries out every decision: rewrite, refuse, quarantine, hand to the
	// bridge.
	ModeEnforce Mode = "enforce"
	// ModeReport evaluates everything, logs, stamps and counts what enforce would have
	// done, and changes nothing else: no rewrite, no refusal, no recipient removed.
	ModeReport Mode = "report"
)

// Modes lists the values Options.Mode and Options.TargetModes take.
func Modes() []Mode { return []Mode{ModeEnforce, ModeReport} }
