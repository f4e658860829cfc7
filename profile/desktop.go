package profile

import (
	"fmt"
	"mime"
	"strconv"
	"strings"
)

// The desktop target (README "Desktop clients", RULES.md DT-*): voice mail
// for ordinary mail readers. It arrives as multipart/mixed with its text
// kept (DT-TOP), its voice in the one form every reader plays: MP3 (MPEG-1
// or MPEG-2 Layer III, audio/mpeg), or µ-law WAV with desktop_audio =
// "wav" (DT-AUDIO), named by its extension (DT-NAME) with a Content-Duration
// (DT-DUR). Which forms play is what codec's TestChromiumPlayback
// establishes in headless Chromium: raw µ-law audio/basic, Sun .au, GSM
// (raw and WAV49), G.726 (raw, audio/32KADPCM and in WAV) do not decode;
// PCM, µ-law and A-law WAV, MP3 and Ogg do.
//
// Audio the codec cannot convert is delivered as it came, with a P-CODEC
// finding under a stated decision (CondUnrepairable), even when the sender
// marked it critical: a desktop destination is an ordinary mailbox, not a
// gateway into another voice system (RFC 4239 9.3), and RFC 3459 leaves
// critical content to the recipient's user agent, which may well play what
// the codec does not decode (Ogg does in Chromium). Refusing would bounce a
// voice mail to a voice-mail system that cannot send anything else;
// dropping would lose it.

// desktopPlays reports whether p's data is already the form the desktop
// target delivers, so that it is kept byte for byte: MP3 that is MPEG-1 or
// MPEG-2 (MPEG-2.5, the 8, 11.025 and 12 kHz extension outside ISO/IEC
// 11172-3 and 13818-3, is not) and that the codec decodes to the end, or
// µ-law WAV whose header the codec reads, for desktop_audio = "wav".
func (ev *eval) desktopPlays(p *Part) bool {
	ta := ev.spec.audio(&ev.e.opts)
	a := ev.info[p]
	if a.format != ta.format || p.damaged() || p.Truncated || p.Data == 0 || ev.e.opts.Codec == nil {
		return false
	}
	if a.format == "mp3" && a.rate < 16000 {
		return false
	}
	return ev.trialOnce(p, a.format) == nil
}

// mp3Samples is the decoded length of MP3 part p in 8 kHz samples, from a
// trial conversion of all of it; ok is false when the codec cannot decode
// it to the end (or there is no codec).
func (ev *eval) mp3Samples(p *Part) (int64, bool) {
	if ev.e.opts.Codec == nil {
		return 0, false
	}
	if err := ev.trialOnce(p, "mp3"); err != nil {
		return 0, false
	}
	return ev.trials[p].samples, true
}

// trialOnce is trial, run once per part and evaluation: the check and the
// plan of the desktop target both need its outcome.
func (ev *eval) trialOnce(p *Part, f string) error {
	if t, ok := ev.trials[p]; ok {
		return t.err
	}
	err := ev.trial(p, f)
	if _, ok := ev.trials[p]; !ok && ev.ioErr == nil {
		ev.trials[p] = trialResult{samples: -1, err: err} // a prefix: the length is not known
	}
	return err
}

// desktopForm names the desktop target's audio for findings.
func desktopForm(ta targetAudio) string {
	if ta.format == "mp3" {
		return "MP3 (MPEG-1 or MPEG-2 Layer III, audio/mpeg)"
	}
	return "µ-law WAV (audio/wav)"
}

// wavLabel reports whether a media type labels WAV data well enough for
// readers (the registered audio/vnd.wave, RFC 2361, and the names in use).
func wavLabel(t string) bool { return containerLabel(t) }

// desktopLabelled reports whether p's label names its data in the desktop
// target's form.
func desktopLabelled(p *Part, ta targetAudio) bool {
	if p.TypeInvalid {
		return false
	}
	if ta.format == "mp3" {
		return p.Type == "audio/mpeg" // RFC 3003
	}
	return wavLabel(p.Type)
}

// desktopName returns the file name p should carry and whether it already
// does: its Content-Disposition filename (else its Content-Type name)
// with the extension of the desktop target's audio.
func desktopName(p *Part, ext string, n int) (string, bool) {
	fn := p.DispositionParams["filename"]
	name, hasName := p.Params["name"]
	if fn != "" && hasSuffixFold(fn, "."+ext) && (!hasName || hasSuffixFold(name, "."+ext)) {
		return fn, true
	}
	src := fn
	if src == "" {
		src = name
	}
	return renameExt(src, ext, n), false
}

// checkDesktopAudio checks one audio part for a desktop reader.
func (ev *eval) checkDesktopAudio(r *result, p *Part) {
	if p.Data == 0 {
		return // P-AUDIO-EMPTY (checkLabel)
	}
	ta := ev.spec.audio(&ev.e.opts)
	a := ev.info[p]
	if !ev.desktopPlays(p) {
		what := orUnknown(a.format)
		if a.format == "mp3" && a.rate > 0 && a.rate < 16000 {
			what = fmt.Sprintf("MPEG-2.5 MP3 at %d Hz", a.rate)
		}
		r.find(ruleDTAudio, p.Path, "audio is %s (%s); desktop readers get %s", p.Type, what, desktopForm(ta))
		return
	}
	if !desktopLabelled(p, ta) {
		r.find(ruleDTAudio, p.Path, "%s data labelled %s, not %s", a.format, orUnknown(p.RawType), ta.mediaType)
	}
	if ev.report {
		return // DIGEST §5: a report's spoken part keeps its disposition and name
	}
	if _, ok := desktopName(p, ta.ext, 0); !ok {
		r.find(ruleDTName, p.Path, "audio part without a filename ending in .%s", ta.ext)
	}
	if secs, ok := ev.desktopSeconds(p); ok {
		switch {
		case p.RawDuration == "":
			r.find(ruleDTDur, p.Path, "Content-Duration missing (audio is %d s)", secs)
		case p.Duration < 0:
			r.find(ruleDTDur, p.Path, "Content-Duration %q is not 1*10DIGIT", p.RawDuration)
		case absDiff(p.Duration, secs) > 1:
			r.find(ruleDTDur, p.Path, "Content-Duration %d but the audio lasts %d s", p.Duration, secs)
		}
	}
}

// desktopSeconds is the play time of a part kept for the desktop: from
// the WAV header, or from the MP3's trial decoding.
func (ev *eval) desktopSeconds(p *Part) (int64, bool) {
	if ev.info[p].format == "mp3" {
		n, ok := ev.mp3Samples(p)
		return roundSeconds(n), ok
	}
	return ev.info[p].seconds(p)
}

// planDesktop plans the parts for the desktop target: a single-part audio
// message is wrapped in multipart/mixed, anything else converted as for IVM
// (multipart/voice-message becomes multipart/mixed, every voice part is
// planned, in forwarded messages too), with the desktop's audio.
func planDesktop(ev *eval) (r result) {
	root := ev.m.Root
	if !root.IsLeaf() {
		return planMixed(ev)
	}
	if ev.isAudio(root) {
		ev.planAudio(&r, ev.wrapRoot(&r), ev.roles[root], false)
	}
	return r
}

// planDesktopAudio plans one audio part for the desktop target: kept when
// it is already in the target's form (with its label, file name and
// Content-Duration set right), else transcoded, or delivered as it came
// when the codec cannot convert it (see the top of this file); empty audio
// beside other content is left out.
func (ev *eval) planDesktopAudio(r *result, p *Part, report bool) {
	ev.audioN++
	opts := ev.e.opts
	ta := ev.spec.audio(&opts)
	a := ev.info[p]
	f := a.format
	cannot := func(why string) {
		r.find(rulePCodec, p.Path, "%s: delivered as it came (a desktop reader may still play it)", why)
		r.unfix(rulePCodec, "audio that cannot be converted in part "+pathLabel(p))
	}
	keep, transcode := false, false
	switch {
	case p.Data == 0:
		if !report && emptyBesideOthers(ev, p) {
			// Nothing to play: an empty segment (RFC 1911 14 keeps one for
			// a missing spoken name) would show as an empty attachment.
			r.find(ruleDTAudio, p.Path, "empty audio part: nothing to play, not delivered")
			r.act(Action{Kind: ActionDrop, Rule: ruleDTAudio, Part: p.Path, Message: p.embeddedIn != nil, part: p})
			return
		}
		r.unfix(rulePAudioEmpty, "empty audio part "+pathLabel(p))
		return
	case ev.desktopPlays(p):
		keep = true
	case ev.ioErr != nil:
		return // the trial of an MP3 could not read the body: Evaluate fails
	case p.damaged():
		cannot(fmt.Sprintf("audio cannot be decoded (%s, invalid %s)", orUnknown(f), p.Encoding))
		return
	case opts.Codec == nil:
		r.find(rulePCodec, p.Path, "no audio codec configured: %s passed unchanged", orUnknown(f))
		r.unfix(rulePCodec, "audio not transcoded in part "+pathLabel(p))
		return
	default:
		// A trial decode before the plan announces the transcode, so that
		// what the report lists is what the rewrite does; it decodes to
		// µ-law: the MP3 is encoded only when the body is written.
		if err := ev.trialOnce(p, f); err != nil {
			if ev.ioErr == nil {
				cannot(fmt.Sprintf("the codec cannot convert %s (%v)", orUnknown(f), err))
			}
			return
		}
		transcode = true
	}
	if report && keep {
		return // DIGEST §5: a report's spoken part keeps its disposition and name
	}
	h := append([]Field(nil), p.Header...)
	name, named := desktopName(p, ta.ext, ev.audioN)
	if report {
		// A report's spoken part keeps its name, with the extension of its
		// new data.
		name = renameExt(p.DispositionParams["filename"], ta.ext, ev.audioN)
	}
	if !named && ev.names[strings.ToLower(name)] {
		// Two voice parts the sender named alike (msg.726 and msg.726)
		// would be saved over each other.
		name = fmt.Sprintf("msg%d.%s", ev.audioN, ta.ext)
	}
	ev.names[strings.ToLower(name)] = true
	switch {
	case transcode:
		h = setField(h, "Content-Type", ta.mediaType+"; "+formatParam("name", name))
		h = setField(h, "Content-Transfer-Encoding", "base64")
	case !desktopLabelled(p, ta):
		params := copyParams(p.Params)
		if _, ok := params["name"]; ok && !named {
			params["name"] = name
		}
		h = setField(h, "Content-Type", mime.FormatMediaType(ta.mediaType, params))
	case !named && p.Params["name"] != "" && !hasSuffixFold(p.Params["name"], "."+ta.ext):
		raw, _ := rawField(p.Header, "Content-Type")
		h = setFieldRaw(h, "Content-Type", editParams(raw, "", map[string]string{"name": name}))
	}
	if keep && p.Encoding == "base-64" {
		h = setField(h, "Content-Transfer-Encoding", "base64") // DIGEST D1-ENC: readers know only "base64"
	}
	if transcode || !named {
		raw, ok := rawField(p.Header, "Content-Disposition")
		_, _, perr := mime.ParseMediaType(unfold(raw))
		switch {
		case ok && perr == nil:
			if p.DispositionParams["filename"] != name {
				h = setFieldRaw(h, "Content-Disposition", editParams(raw, "", map[string]string{"filename": name}))
			}
		case report && !ok:
			// A report's spoken part keeps having no disposition: its
			// Content-Type name names it.
		default:
			// None, or one that does not parse: an attachment, as voice-mail
			// systems send it to mail readers.
			disp := p.Disposition
			if disp == "" || perr != nil && disp != "inline" {
				disp = "attachment"
			}
			h = setField(h, "Content-Disposition", disp+"; "+formatParam("filename", name))
		}
	}
	if keep {
		if secs, ok := ev.desktopSeconds(p); ok && (p.Duration < 0 || absDiff(p.Duration, secs) > 1) {
			h = setField(h, "Content-Duration", strconv.FormatInt(secs, 10)) // RFC 3803
		}
	}
	rule := ruleDTAudio
	if transcode {
		r.act(Action{Kind: ActionTranscode, Rule: rule, Part: p.Path, Message: p.embeddedIn != nil, From: f, To: ta.writeName(), part: p})
	}
	for _, fld := range h {
		if transcode && strings.EqualFold(fld.Name, "Content-Duration") {
			continue // the rewrite writes it from the samples
		}
		if old, ok := p.Get(fld.Name); !ok || old != unfold(fld.Value) {
			fr := rule
			switch strings.ToLower(fld.Name) {
			case "content-disposition":
				fr = ruleDTName
			case "content-duration":
				fr = ruleDTDur
			}
			ev.setField(r, fr, p, fld.Name, strings.TrimLeft(fld.Value, " \t"))
		}
	}
}

// emptyBesideOthers reports whether p, an empty audio part, sits in a
// multipart beside a part that is not empty audio, so that leaving it out
// leaves the multipart with parts (RFC 2046 5.1.1: at least one).
func emptyBesideOthers(ev *eval, p *Part) bool {
	q := p.parent
	if q == nil || p.synthetic || p.embeddedIn != nil || !q.IsMultipart() {
		return false
	}
	for _, c := range q.Children {
		if c != p && !(ev.isAudio(c) && c.Data == 0) {
			return true
		}
	}
	return false
}
