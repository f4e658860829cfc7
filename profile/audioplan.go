package profile

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/vpim-milter/vpim-milter/codec"
)

// The audio plan: which parts are voice and in what role, what becomes of
// each for the target (kept, transcoded, dropped, or the message refused),
// and the container the target wants (DIGEST §7 conversion rules).

// audioParts lists the audio leaves outside embedded messages, in order.
func (ev *eval) audioParts(p *Part, out []*Part) []*Part {
	if p.Embedded != nil {
		return out
	}
	if ev.isAudio(p) {
		return append(out, p)
	}
	for _, c := range p.Children {
		out = ev.audioParts(c, out)
	}
	return out
}

// assignRoles assigns the voice= value of each audio part of the message
// and of every message forwarded in it, and chooses the voice message the
// bridge plays (the top level's).
func (ev *eval) assignRoles() {
	ev.roles = map[*Part]string{}
	ev.voice = ev.assignRolesIn(ev.m.Root)
	ev.m.Walk(func(p *Part, _ int) bool {
		if p.Embedded != nil {
			ev.assignRolesIn(p.Embedded)
		}
		return true
	})
}

// assignRolesIn assigns the roles of the audio parts of one message
// (outside the messages forwarded in it): the voice= value when it is
// registered (RFC 3801 4.3.2), the three positional roles of a v1
// multipart/voice-message (DIGEST §2.6, §7 "v1 input → v2": name,
// subject, message), else Voice-Message for the longest part without one.
// It returns the voice message.
func (ev *eval) assignRolesIn(root *Part) *Part {
	audio := ev.audioParts(root, nil)
	r := ev.roles
	if mvm := findMVM(root); mvm != nil && ev.isV1() && len(mvm.Children) == 3 && ev.isAudio(mvm.Children[0]) &&
		ev.isAudio(mvm.Children[1]) && (ev.isAudio(mvm.Children[2]) || mvm.Children[2].IsMultipart()) {
		// RFC 1911 14: the parts of a VPIM v1 voice message are known by
		// their position, whatever their dispositions say; the third may
		// be a multipart/mixed with the message first.
		r[mvm.Children[0]], r[mvm.Children[1]] = "Originator-Spoken-Name", "Spoken-Subject"
		if third := mvm.Children[2]; ev.isAudio(third) {
			r[third] = "Voice-Message"
			return third
		}
		if inner := ev.audioParts(mvm.Children[2], nil); len(inner) > 0 {
			for _, p := range inner {
				if v, ok := p.DispositionParams["voice"]; ok && canonVoice(v) != "" {
					r[p] = canonVoice(v)
				}
			}
			if _, ok := r[inner[0]]; !ok {
				r[inner[0]] = "Voice-Message"
			}
			return inner[0]
		}
		return nil
	}
	missing := 0
	for _, p := range audio {
		if v, ok := p.DispositionParams["voice"]; ok {
			if c := canonVoice(v); c != "" {
				r[p] = c
			} else if len(audio) == 1 {
				r[p] = "Voice-Message"
			} else {
				r[p] = v
			}
		} else {
			missing++
		}
	}
	if missing > 0 {
		mvm := findMVM(root)
		if missing == 3 && len(audio) == 3 && mvm != nil && ev.isV1() {
			for i, role := range []string{"Originator-Spoken-Name", "Spoken-Subject", "Voice-Message"} {
				r[audio[i]] = role
			}
		} else {
			hasMsg := false
			for _, p := range audio {
				if v := r[p]; v == "Voice-Message" || v == "Voice-Message-Notification" {
					hasMsg = true
				}
			}
			if !hasMsg {
				var best *Part
				for _, p := range audio {
					if _, ok := r[p]; !ok && (best == nil || p.Data > best.Data) {
						best = p
					}
				}
				if best != nil {
					r[best] = "Voice-Message"
				}
			}
		}
	}
	for _, p := range audio {
		if r[p] == "Voice-Message" {
			return p
		}
	}
	if len(audio) > 0 {
		return audio[0]
	}
	return nil
}

// setField plans setting field name of part p (the top-level header for
// the message itself).
func (ev *eval) setField(r *result, rule Rule, p *Part, name, value string) {
	if p == ev.m.Root {
		ev.setHeader(r, rule, name, value)
		return
	}
	r.act(Action{Kind: ActionPartField, Rule: rule, Part: p.Path, Message: p.embeddedIn != nil, Name: name, Value: value, part: p})
}

// planParts plans part rewrites for the target.
func planParts(ev *eval) result {
	switch {
	case ev.spec.positional:
		return planPositional(ev)
	case ev.target == TargetVPIM2:
		return planVPIM2(ev)
	case ev.target == TargetDesktop:
		return planDesktop(ev)
	}
	return planMixed(ev)
}

// planMixed plans the parts for IVM and the desktop: every
// multipart/voice-message becomes multipart/mixed (RFC 4239 3: the top
// level of "a new, forwarded or reply voice message SHOULD be
// multipart/mixed"; DT-TOP), every audio part is planned, in forwarded
// messages too.
func planMixed(ev *eval) (r result) {
	rule, who := ruleITop, "IVM"
	if ev.target == TargetDesktop {
		rule, who = ruleDTTop, "desktop readers"
	}
	var walk func(p *Part)
	walk = func(p *Part) {
		if p.Embedded != nil {
			// RFC 4239 7: voice "may be contained at any location within a
			// message and MUST always be contained in an audio/basic
			// content-type": a forwarded message is converted too.
			walk(p.Embedded)
			return
		}
		if p.IsMultipart() {
			if p.NoParts || p.Params["boundary"] == "" {
				return
			}
			if p.Type == "multipart/voice-message" {
				params := copyParams(p.Params)
				delete(params, "version")
				r.find(rule, p.Path, "multipart/voice-message becomes multipart/mixed for %s", who)
				ev.setField(&r, rule, p, "Content-Type", mime.FormatMediaType("multipart/mixed", params)) // RFC 4239 3 (I-TOP), DT-TOP
			}
			for _, c := range p.Children {
				walk(c)
			}
			return
		}
		if ev.isAudio(p) {
			ev.planAudio(&r, p, ev.roles[p], false)
		}
	}
	walk(ev.m.Root)
	return r
}

// planReport adapts a DSN/MDN: only a spoken human-readable part is
// transcoded, for every target (DIGEST §5 (c); RFC 3801 4.6: the
// human-readable part "SHOULD be spoken", and voice is audio/32KADPCM;
// RFC 4239 7: voice is audio/basic). The report is otherwise passed as it
// is; its spoken part keeps its disposition and name.
func planReport(ev *eval) (r result) {
	root := ev.m.Root
	if len(root.Children) == 0 || !ev.isAudio(root.Children[0]) {
		return r
	}
	p := root.Children[0]
	ev.planAudio(&r, p, canonVoice(p.DispositionParams["voice"]), true)
	return r
}

func copyParams(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// planAudio plans the rewrite of one audio part for the target.
func (ev *eval) planAudio(r *result, p *Part, role string, report bool) {
	if ev.target == TargetDesktop {
		ev.planDesktopAudio(r, p, report)
		return
	}
	ev.audioN++
	opts := ev.e.opts
	ta := ev.spec.audio(&opts)
	tf, tmedia, ext := ta.format, ta.mediaType, ta.ext
	a := ev.info[p]
	f := a.format
	h := append([]Field(nil), p.Header...)
	transcode := false
	relabel := false     // empty audio that takes the target's type
	undecodable := false // passed unchanged because it cannot be converted
	// cannot handles audio that cannot be converted: refused, dropped,
	// or passed unchanged with a finding. long: because it is longer than
	// the codec converts.
	cannot := func(why string, long bool) bool {
		if ev.unrenderable(r, p, role, why, long) {
			return true
		}
		r.find(rulePCodec, p.Path, "%s: passed unchanged", why)
		r.unfix(rulePCodec, "undecodable audio in part "+pathLabel(p))
		if ev.target == TargetIVM && !report && (p == ev.voice || p.synthetic && ev.voice == ev.m.Root) {
			ev.unconvertible = p
		}
		undecodable = true
		return false
	}
	if f != tf {
		switch {
		case p.Data == 0 && (tf == "basic" || tf == "32kadpcm"):
			// Empty audio is empty in any headerless format: it only
			// takes the target's type (and a name to match).
			h = setField(h, "Content-Type", tmedia)
			relabel = true
		case p.Data == 0:
			r.unfix(rulePAudioEmpty, "empty audio part "+p.Path)
		case p.damaged():
			if cannot(fmt.Sprintf("audio cannot be decoded (%s, invalid %s)", orUnknown(f), p.Encoding), false) {
				return
			}
		case opts.Codec == nil:
			r.find(rulePCodec, p.Path, "no audio codec configured: %s passed unchanged", orUnknown(f))
			r.unfix(rulePCodec, "audio not transcoded in part "+p.Path)
		default:
			// The codec says what it can convert: a trial decode before the
			// plan announces the transcode, so that what the report lists
			// is what the rewrite does.
			if err := ev.trial(p, f); err != nil {
				if ev.ioErr != nil {
					return // Evaluate fails: the milter tempfails
				}
				if cannot(fmt.Sprintf("the codec cannot convert %s (%v)", orUnknown(f), err), errors.Is(err, codec.ErrTooLong)) {
					return
				}
			} else {
				transcode = true
			}
		}
	}
	name := fmt.Sprintf("msg%d.%s", ev.audioN, ext)
	if fn := p.DispositionParams["filename"]; transcode && report && fn != "" {
		// A report's spoken part keeps its name, with the extension of
		// its new data (RFC 4239 7: ".au" for raw µ-law).
		name = renameExt(fn, ext, ev.audioN)
	}
	if transcode && tf == "basic" {
		// RFC 4239 7 (I-CODEC-TX): without knowledge of the recipient, raw
		// G.711 µ-law labelled audio/basic, with a filename ending in ".au".
		r.find(ruleICodecTx, p.Path, "%s audio becomes raw G.711 µ-law audio/basic named %s", f, name)
	}
	if transcode {
		h = setField(h, "Content-Type", tmedia+"; name="+name) // keep the registered capitalisation (audio/32KADPCM)
		h = setField(h, "Content-Transfer-Encoding", "base64")
	} else {
		if p.Type == "audio/adpcm" && tf == "32kadpcm" {
			h = setField(h, "Content-Type", "audio/32KADPCM") // DIGEST D1-CT-ADPCM
		}
		switch {
		case p.Encoding == "base-64":
			h = setField(h, "Content-Transfer-Encoding", "base64") // DIGEST D1-ENC
		case textEncoding(p) && p.Data > 0 && !p.damaged() && (ev.target == TargetVPIM2 || ev.target == TargetVPIM1):
			// RFC 3801 4.2.12: audio MUST be base64 when binary transport
			// is not available (a milter cannot know that it is).
			h = setField(h, "Content-Transfer-Encoding", "base64")
			r.act(Action{Kind: ActionReencode, Rule: ev.rid(ruleV2HdrCTE, ruleD1Enc), Part: p.Path, Message: p.embeddedIn != nil, From: p.Encoding, part: p})
		}
	}
	if !report && ev.spec.dispositions {
		// RFC 3801 4.3.2 disposition; RFC 4239 3 / RFC 3459 handling.
		handling := ""
		if ev.spec.handling {
			handling = "REQUIRED"
			if role == "Originator-Spoken-Name" || role == "Spoken-Subject" || role == "Recipient-Spoken-Name" {
				handling = "OPTIONAL"
			}
			if undecodable && handling == "REQUIRED" {
				// Audio that cannot become audio/basic passes as it came
				// (it is not marked critical, or it would be refused):
				// marking it REQUIRED now would make the next IVM hop
				// refuse the whole message (RFC 3459, RFC 4239 6).
				handling = ""
				if optional(p) {
					handling = "OPTIONAL"
				}
			}
		}
		fn := p.DispositionParams["filename"]
		switch e := formatExt(f); {
		case transcode || relabel:
			fn = name
		case ev.keepsBasic(p, f) && !auNamed(p):
			// RFC 4239 7 (I-CODEC-TX): raw µ-law audio/basic SHOULD use a
			// filename ending in ".au"; a legacy Content-Type name= is
			// kept in step.
			fn = auName(fn, ev.audioN)
			if raw, ok := rawField(p.Header, "Content-Type"); ok && p.Params["name"] != "" {
				if p.TypeInvalid {
					// RFC 2045 5.1 (P-CT-SYNTAX): written anew.
					params := copyParams(p.Params)
					params["name"] = fn
					h = setField(h, "Content-Type", mime.FormatMediaType(p.Type, params))
				} else {
					h = setFieldRaw(h, "Content-Type", editParams(raw, "", map[string]string{"name": fn}))
				}
			}
		case fn == "" && e != "":
			fn = fmt.Sprintf("msg%d.%s", ev.audioN, e)
		}
		raw, ok := rawField(p.Header, "Content-Disposition")
		_, _, perr := mime.ParseMediaType(unfold(raw))
		if !ok || perr != nil || p.Disposition != "inline" {
			disp := "inline"
			if role != "" {
				disp += "; voice=" + role
			}
			if handling != "" {
				disp += "; handling=" + handling
			}
			if fn != "" {
				disp += "; " + formatParam("filename", fn)
			}
			h = setField(h, "Content-Disposition", disp)
		} else {
			// An inline disposition: only the parameters that are not
			// what they must be change, the rest keeps its bytes.
			set := map[string]string{}
			if cur := p.DispositionParams["voice"]; role != "" && !strings.EqualFold(cur, role) {
				set["voice"] = role
			}
			if cur := p.DispositionParams["handling"]; handling != "" && !strings.EqualFold(cur, handling) {
				set["handling"] = handling
			}
			if fn != "" && p.DispositionParams["filename"] != fn {
				set["filename"] = fn
			}
			if len(set) > 0 {
				h = setFieldRaw(h, "Content-Disposition", editParams(raw, "", set))
			}
		}
	}
	if transcode && (report || !ev.spec.dispositions) {
		// The disposition is the sender's; only a file name that would
		// now lie about the data follows it.
		if raw, ok := rawField(p.Header, "Content-Disposition"); ok && p.DispositionParams["filename"] != "" {
			h = setFieldRaw(h, "Content-Disposition", editParams(raw, "", map[string]string{"filename": name}))
		}
	}
	fixDuration := "" // a wrong Content-Duration of a target without dispositions, set apart under its own rule
	if secs, ok := a.seconds(p); !transcode && !report && ok && p.Data > 0 && (p.Duration < 0 || absDiff(p.Duration, secs) > 1) {
		switch {
		case ev.spec.dispositions:
			h = setField(h, "Content-Duration", strconv.FormatInt(secs, 10)) // RFC 3803
		case p.RawDuration != "":
			// VPIM v1 does not add one, but one the part carries is
			// corrected (RFC 3803 2, P-AUDIO-DUR): kept as it came, it would
			// announce the wrong length (redteam R15).
			fixDuration = strconv.FormatInt(secs, 10)
		}
	}
	rule := ev.audioRule()
	if report && ev.target == TargetVPIM2 {
		rule = ruleV2DSN // RFC 3801 4.6: the spoken part of a report
	}
	if transcode {
		r.act(Action{Kind: ActionTranscode, Rule: rule, Part: p.Path, Message: p.embeddedIn != nil, From: f, To: tf, part: p})
	}
	for _, fld := range h {
		if transcode && strings.EqualFold(fld.Name, "Content-Duration") {
			continue
		}
		if old, ok := p.Get(fld.Name); !ok || old != unfold(fld.Value) {
			ev.setField(r, rule, p, fld.Name, strings.TrimLeft(fld.Value, " \t"))
		}
	}
	if fixDuration != "" {
		ev.setField(r, rulePAudioDur, p, "Content-Duration", fixDuration)
	}
	if transcode && p == ev.m.Root {
		// The top-level header precedes the body: the duration comes from
		// the source's timing.
		if secs, ok := a.seconds(p); ok {
			ev.setHeader(r, rule, "Content-Duration", strconv.FormatInt(secs, 10))
		}
	}
}

// audioRule is the rule of the target's voice encoding.
func (ev *eval) audioRule() Rule {
	switch ev.target {
	case TargetIVM:
		return ruleIAudio
	case TargetVPIM1:
		return ruleD1CtADPCM
	case TargetDesktop:
		return ruleDTAudio
	}
	return ruleV2ADPCM
}

// critical reports whether a part is marked critical content: handling=
// REQUIRED or any value but OPTIONAL (RFC 3459 3: unknown values MUST be
// treated as REQUIRED), or the RFC 4239 3 spelling criticality=CRITICAL.
// An absent marking is not counted: the sender did not use criticality.
func critical(p *Part) bool {
	d := p.DispositionParams
	if h, ok := d["handling"]; ok {
		return !strings.EqualFold(h, "OPTIONAL")
	}
	return strings.EqualFold(d["criticality"], "critical")
}

// optional reports whether a part is marked handling=OPTIONAL (RFC 3459) or
// criticality=IGNORE (RFC 4239 3).
func optional(p *Part) bool {
	d := p.DispositionParams
	if h, ok := d["handling"]; ok {
		return strings.EqualFold(h, "OPTIONAL")
	}
	return strings.EqualFold(d["criticality"], "ignore")
}

// unrenderable handles an audio part that cannot be converted to the
// target's audio (why says how it failed) and reports whether it did: the
// part is dropped or the message refused with 550 5.6.1. False leaves the
// part to pass unchanged with a P-CODEC finding, as for every target when
// the message is a delivery or disposition report (DIGEST §5: reports pass).
// long says the audio is longer than the codec converts (codec.max_duration):
// a limit of size, so a refusal is 552 5.3.4 (RFC 3463 3.4, message too big
// for system; P-AUDIO-LONG), not media the destination cannot render
// (redteam R15: a decodable 65-minute message to a VPIM destination got
// 550 5.6.1).
func (ev *eval) unrenderable(r *result, p *Part, role, why string, long bool) bool {
	if ev.report {
		return false
	}
	// refuse refuses the message under rule with reply and the finding
	// msg; audio too long to convert is refused under P-AUDIO-LONG with
	// 552 5.3.4 instead, whatever the rule that asked for the conversion.
	refuse := func(rule Rule, reply Reply, msg string) {
		d := Decision{Verdict: VerdictReject, Condition: CondMediaUnsupported, Rule: rule, Reply: reply}
		if long {
			d.Condition, d.Rule = CondTooLong, rulePAudioLong
			d.Reply = Reply{Code: 552, Enhanced: "5.3.4", Text: "voice message too long to convert for the destination"}
			if lim, ok := ev.e.opts.Codec.(durationLimiter); ok {
				d.Reply.Text += fmt.Sprintf(" (the limit is %v)", lim.MaxDuration())
			}
			msg = fmt.Sprintf("%s: %s is too long to convert for the %s destination, the message is refused (message too big for system)", why, p.Type, ev.target)
		}
		r.find(d.Rule, p.Path, "%s", msg)
		r.act(Action{Kind: ActionRefuse, Rule: d.Rule, Decision: d})
	}
	switch {
	case ev.target == TargetVPIM2 || ev.target == TargetVPIM1:
		// RFC 3801 4.5.3 (V2-PROP): a VPIM v2 system that cannot render
		// an audio/* part MUST return the message with an NDN "media not
		// supported" (RFC 3801 App. C: 5.6.1). An IVM sender's OPTIONAL
		// part other than the voice message is dropped instead (RFC 3459:
		// silently, without notification).
		if p.Path != "" && optional(p) && role != "Voice-Message" && role != "Voice-Message-Notification" {
			r.find(ruleV2Prop, p.Path, "%s: %s marked handling=OPTIONAL is dropped, VPIM v2 cannot carry it", why, p.Type)
			r.act(Action{Kind: ActionDrop, Rule: ruleV2Prop, Part: p.Path, part: p})
			return true
		}
		// RFC 1911 4.3 for VPIM v1 alike: Audio/32KADPCM "by default",
		// other encodings only with per-destination configuration.
		refuse(ruleV2Prop, Reply{Code: 550, Enhanced: "5.6.1", Text: "media not supported: an audio part cannot be converted for the VPIM destination"},
			fmt.Sprintf("%s: a VPIM destination cannot render %s, the message is refused (media not supported)", why, p.Type))
	case critical(p):
		// RFC 4239 6 (I-DSN), RFC 3459: critical content that cannot be
		// processed for the recipient: the whole message is not delivered
		// (5.6.1).
		refuse(ruleIDSN, Reply{Code: 550, Enhanced: "5.6.1", Text: "media not supported: a required audio part cannot be converted for the destination"},
			fmt.Sprintf("%s: %s is marked critical (handling=REQUIRED) and cannot be converted for the %s destination, the message is refused",
				why, p.Type, ev.target))
	default:
		return false
	}
	return true
}

// keepsBasic reports whether p is audio/basic in the very form the IVM
// target mandates, so the rewrite keeps its data as it is.
func (ev *eval) keepsBasic(p *Part, f string) bool {
	ta := ev.spec.audio(&ev.e.opts)
	return ev.target == TargetIVM && p.Type == "audio/basic" && ta.mediaType == "audio/basic" && f == ta.format
}

// auNamed reports whether a part's filename ends in ".au" (RFC 4239 7),
// and so does its legacy Content-Type name= when it has one.
func auNamed(p *Part) bool {
	if !hasSuffixFold(p.DispositionParams["filename"], ".au") {
		return false
	}
	n, ok := p.Params["name"]
	return !ok || hasSuffixFold(n, ".au")
}

// auName returns a filename ending in ".au" for raw µ-law audio: fn with
// its directory and extension removed, or msgN.au when nothing usable is
// left.
func auName(fn string, n int) string { return renameExt(fn, "au", n) }

// renameExt returns fn with its directory removed and its extension
// replaced by ext, or msgN.ext when nothing usable is left.
func renameExt(fn, ext string, n int) string {
	if i := strings.LastIndexAny(fn, `/\`); i >= 0 {
		fn = fn[i+1:]
	}
	fn = strings.Trim(fn, "\" \t")
	if i := strings.LastIndexByte(fn, '.'); i >= 0 {
		fn = fn[:i]
	}
	if fn == "" || strings.ContainsFunc(fn, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '"' }) {
		return fmt.Sprintf("msg%d.%s", n, ext)
	}
	return fn + "." + ext
}

// trialPrefix is how much decoded data a trial converts for formats
// whose decoders cannot fail after the first samples (see trialAll).
const trialPrefix = 8 << 10

// trialAll reports whether the codec must convert all of a part's data to
// know it can: frame-based formats whose last frame may be cut short, MP3
// (a frame may be broken anywhere) and formats the codec does not name.
// For the sample-exact ones a prefix shows the header and the first
// samples decode, and every further byte is a sample.
func trialAll(f string) bool {
	switch f {
	case "basic", "32kadpcm", "au", "wav-ulaw", "wav-alaw", "wav-pcm16":
		return false
	}
	return true
}

// durationLimiter is a codec that refuses audio longer than a limit
// (*codec.Transcoder).
type durationLimiter interface{ MaxDuration() time.Duration }

// trial converts the data of part p (format f) to raw µ-law into nothing,
// to learn before the verdict whether the codec can convert it: all of it,
// or a prefix for the formats trialAll names, whose length is then checked
// against the codec's duration limit. The trial converts to raw µ-law
// whatever the target: what can fail is decoding the source (the encoders
// take any PCM), and µ-law is the cheapest encoder. A failure to read the
// body (or the end of ctx) is kept in ev.ioErr, for Evaluate to return;
// any other error is the codec's.
func (ev *eval) trial(p *Part, f string) error { return ev.tryCodec(p, f, !trialAll(f)) }

// trialPrefix is trial on the first trialPrefix bytes only, whatever the
// format: enough to learn that the codec decodes it.
func (ev *eval) trialPrefix(p *Part, f string) error { return ev.tryCodec(p, f, true) }

// trialResult is the outcome of a trial of a part's data.
type trialResult struct {
	samples int64 // 8 kHz samples decoded, -1 when only a prefix was tried
	err     error // the codec's error
}

// tryCodec converts the data of p, all of it or the prefix; the outcome of
// a trial of all of it is kept in ev.trials.
func (ev *eval) tryCodec(p *Part, f string, prefix bool) error {
	if prefix {
		if lim, ok := ev.e.opts.Codec.(durationLimiter); ok {
			// The codec's count: whole seconds of the limit at 8 kHz.
			if n, ok := ev.info[p].samples(p); ok && lim.MaxDuration() > 0 && n > int64(lim.MaxDuration()/time.Second*codec.Rate) {
				return fmt.Errorf("%w: %d s, the codec's limit is %s", codec.ErrTooLong, roundSeconds(n), lim.MaxDuration())
			}
		}
	}
	src, err := section(ev.in.Body, p.BodyStart, p.End)
	if err != nil {
		ev.ioErr = err
		return err
	}
	var data io.Reader = transferDecoder(p, ctxReader{ctx: ev.ctx, r: &bodyErr{r: src}})
	lr := &io.LimitedReader{R: data, N: trialPrefix}
	if prefix {
		data = lr
	}
	samples, err := ev.e.opts.Codec.Transcode(io.Discard, "basic", data, f)
	var be errBody
	switch {
	case ev.ctx != nil && ev.ctx.Err() != nil:
		ev.ioErr = fmt.Errorf("profile: %w", ev.ctx.Err())
	case errors.As(err, &be):
		ev.ioErr = be
	}
	if ev.ioErr != nil {
		return ev.ioErr
	}
	if err != nil && prefix && lr.N == 0 && samples > 0 {
		return nil // cut short by the trial, after samples decoded
	}
	if !prefix {
		ev.trials[p] = trialResult{samples, err}
	}
	return err
}

// wrapPart plans taking the body of a single-part message into a part of
// its own: the Content-* fields move from the top-level header into the
// new part (the caller sets the new top-level Content-Type). It returns
// the new part, which carries the message body, for the audio plan.
func (ev *eval) wrapPart(r *result, rule Rule) *Part {
	root := ev.m.Root
	w := *root
	w.Path, w.synthetic, w.parent, w.Header = "1", true, root, nil
	w.Children, w.Embedded = nil, nil
	seen := map[string]bool{}
	for _, f := range root.Header {
		if !hasPrefixFold(f.Name, "Content-") {
			continue
		}
		w.Header = append(w.Header, f)
		if n := strings.ToLower(f.Name); n != "content-type" && !seen[n] {
			seen[n] = true
			ev.deleteAll(r, rule, f.Name)
		}
	}
	ev.info[&w] = ev.info[root]
	ev.roles[&w] = ev.roles[root]
	return &w
}

// wrapRoot plans wrapping a single-part audio message into the target's
// container, a multipart/voice-message (RFC 3801 4.4.1) or for the desktop
// a multipart/mixed (DT-TOP), and returns the new part.
func (ev *eval) wrapRoot(r *result) *Part {
	root := ev.m.Root
	rule := ev.rid(ruleV2MVM, ruleD1MVM)
	if ev.target == TargetDesktop {
		rule = ruleDTTop
	}
	w := ev.wrapPart(r, rule)
	b := ev.boundary("")
	params := map[string]string{"boundary": b}
	if v := ev.spec.version; v != "" {
		params["version"] = v
	}
	ev.setHeader(r, rule, "Content-Type", mime.FormatMediaType(ev.spec.container, params))
	r.act(Action{Kind: ActionLayout, Rule: rule, part: root,
		Layout: &Layout{Type: ev.spec.container, Boundary: b, Entries: []LayoutEntry{{Role: "voice message", part: w}}}})
	r.find(rule, "", "single-part audio message wrapped in %s", ev.spec.container)
	return w
}
