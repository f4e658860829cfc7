package profile

// targetSpec describes what a target requires of the message it gets.
// targetTable is the one place these properties are written down; the
// checks and the plan read them from here.
type targetSpec struct {
	target Target
	// rewrite: the engine converts voice mail for this target. For the
	// others no profile rule applies (only privacy and the bridge's need
	// of a voice part).
	rewrite bool
	// container is the top-level media type of converted voice mail,
	// version its version parameter ("" for none).
	container, version string
	// positional: the container holds exactly the spoken name, the spoken
	// subject and the message, in this order (RFC 1911 14).
	positional bool
	// dispositions: audio parts carry Content-Disposition with voice=
	// and Content-Duration (RFC 3801 4.3, RFC 4239 7); VPIM v1 identifies
	// them by position.
	dispositions bool
	// mimeVersion is the MIME-Version value the target wants ("" leaves
	// the field as it is).
	mimeVersion string
	// context is the Message-Context value the target wants ("" none).
	context string
	// audio is the voice format, media type and file extension.
	audio func(o *Options) targetAudio
	// privacy is whether the target keeps Sensitivity: Private when its
	// domain is not listed in Options.PrivacyCapable. No target does:
	// privacy is a property of the destination system (the bridge never
	// has it: an outdial cannot stop forwarding or replay).
	privacy bool
	// text says how text/plain parts fare: keep, outside (VPIM v2: not
	// inside multipart/voice-message, RFC 3801 4.5.4) or drop (RFC 1911
	// 4.3: MUST NOT send).
	text textPolicy
	// uniqueTo: one To field (RFC 5322 3.6); VPIM allows several.
	uniqueTo bool
	// handling: audio parts get an RFC 3459 handling parameter (IVM).
	handling bool
}

// textPolicy is what a target does with text/plain parts.
type textPolicy int

const (
	textKeep    textPolicy = iota // any part may stay
	textOutside                   // only outside the voice container
	textDrop                      // never sent
)

// targetAudio is the voice encoding a target mandates.
type targetAudio struct {
	format    string // codec format name
	mediaType string // with the registered capitalisation
	ext       string // file extension without the dot
}

// targetTable lists the targets (immutable).
var targetTable = [...]targetSpec{
	{
		target: TargetVPIM2, rewrite: true,
		container: "multipart/voice-message", version: "2.0", // RFC 3801 4.4.1
		mimeVersion: "1.0 (Voice 2.0)", // RFC 3801 4.2.10
		audio: func(*Options) targetAudio { // RFC 3801 4.4.3
			return targetAudio{"32kadpcm", "audio/32KADPCM", "726"}
		},
		text: textDrop, dispositions: true,
	},
	{
		target: TargetVPIM1, rewrite: true,
		container:   "multipart/voice-message", // RFC 1911 14
		positional:  true,
		mimeVersion: "1.0 (Voice 1.0)", // RFC 1911 4.2
		audio: func(*Options) targetAudio { // RFC 1911 4.3
			return targetAudio{"32kadpcm", "audio/32KADPCM", "726"}
		},
		text: textDrop,
	},
	{
		target: TargetIVM, rewrite: true,
		container: "multipart/mixed", // RFC 4239 3
		context:   "voice-message",   // RFC 4239 3, RFC 3458
		audio: func(o *Options) targetAudio { // RFC 4239 7
			switch o.IVMAudio {
			case IVMAudioAU:
				return targetAudio{"au", "audio/basic", "au"}
			case IVMAudioWAV:
				return targetAudio{"wav-ulaw", "audio/wav", "wav"}
			}
			return targetAudio{"basic", "audio/basic", "au"}
		},
		uniqueTo: true, handling: true, dispositions: true,
	},
	{target: TargetPassthrough},
	{target: TargetBridge},
}

// spec returns the table entry of t (passthrough for an unknown target).
func (t Target) spec() *targetSpec {
	for i := range targetTable {
		if targetTable[i].target == t {
			return &targetTable[i]
		}
	}
	return &targetTable[3]
}
