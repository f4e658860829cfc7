package profile

import "strconv"

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
	// write is the codec's name of the output, when it says more than
	// format: "mp3-24", MP3 at the configured bit rate. "" is format.
	write string
}

// writeName is what the codec is asked to write.
func (ta targetAudio) writeName() string {
	if ta.write != "" {
		return ta.write
	}
	return ta.format
}

// targetTable lists the targets (immutable).
var targetTable = [...]targetSpec{
	{
		target: TargetVPIM2, rewrite: true,
		container: "multipart/voice-message", version: "2.0", // RFC 3801 4.4.1
		mimeVersion: "1.0 (Voice 2.0)", // RFC 3801 4.2.10
		audio: func(*Options) targetAudio { // RFC 3801 4.4.3
			return targetAudio{format: "32kadpcm", mediaType: "audio/32KADPCM", ext: "726"}
		},
		text: textDrop, dispositions: true,
	},
	{
		target: TargetVPIM1, rewrite: true,
		container:   "multipart/voice-message", // RFC 1911 14
		positional:  true,
		mimeVersion: "1.0 (Voice 1.0)", // RFC 1911 4.2
		audio: func(*Options) targetAudio { // RFC 1911 4.3
			return targetAudio{format: "32kadpcm", mediaType: "audio/32KADPCM", ext: "726"}
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
				return targetAudio{format: "au", mediaType: "audio/basic", ext: "au"}
			case IVMAudioWAV:
				return targetAudio{format: "wav-ulaw", mediaType: "audio/wav", ext: "wav"}
			}
			return targetAudio{format: "basic", mediaType: "audio/basic", ext: "au"}
		},
		uniqueTo: true, handling: true, dispositions: true,
	},
	{
		// Ordinary mail readers (README "Desktop clients", RULES.md DT-*):
		// multipart/mixed with the text kept, voice they play (the playback
		// table of codec's TestChromiumPlayback), an RFC 5322 header.
		target: TargetDesktop, rewrite: true,
		container: "multipart/mixed", // DT-TOP
		audio: func(o *Options) targetAudio { // DT-AUDIO
			if o.DesktopAudio == DesktopAudioWAV {
				return targetAudio{format: "wav-ulaw", mediaType: "audio/wav", ext: "wav"}
			}
			return targetAudio{format: "mp3", mediaType: "audio/mpeg", ext: "mp3", write: "mp3-" + strconv.Itoa(o.MP3Bitrate)}
		},
		uniqueTo: true,
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
	return &targetTable[passthroughSpec]
}

// passthroughSpec is the index of TargetPassthrough in targetTable.
const passthroughSpec = 4
