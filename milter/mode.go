package milter

import "github.com/vpim-milter/vpim-milter/profile"

// Mode is whether the filter carries out its decisions or only reports them.
type Mode string

// The modes of [milter] mode and target_modes.
const (
	// ModeEnforce carries out every decision: rewrite, refuse, quarantine, hand to the
	// bridge.
	ModeEnforce Mode = "enforce"
	// ModeReport evaluates everything, logs, stamps and counts what enforce would have
	// done, and changes nothing else: no rewrite, no refusal, no recipient removed, no
	// hand-off to the bridge (unless the bridge's own mode is enforce).
	ModeReport Mode = "report"
)

// Modes lists the values Options.Mode and Options.TargetModes take.
func Modes() []Mode { return []Mode{ModeEnforce, ModeReport} }

// ModeTargets lists the keys Options.TargetModes takes: the body targets and the bridge.
func ModeTargets() []profile.Target { return append(profile.BodyTargets(), profile.TargetBridge) }

// ModeFor is the mode of the messages for target t: its TargetModes entry, or Mode.
func (o *Options) ModeFor(t profile.Target) Mode {
	if m, ok := o.TargetModes[t]; ok {
		return m
	}
	return o.Mode
}
