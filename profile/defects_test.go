package profile

// The messages of issue 10 ("Profile engine, second pass"): one or more per
// numbered defect, built here like the rest of the corpus (our own text;
// audio from the tone generator below, encoded with the project's codec,
// or built byte by byte where the codec cannot write the format).

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"mime/quotedprintable"
	"strings"
	"testing"

	"github.com/vpim-milter/vpim-milter/codec"
)

// tonePCM returns secs seconds of an 8 kHz mono PCM16LE signal: a tone of
// hz Hertz, amplitude-modulated at 3 Hz so it is not stationary.
func tonePCM(secs, hz float64) []byte {
	n := int(secs * 8000)
	out := make([]byte, 2*n)
	for i := range n {
		t := float64(i) / 8000
		v := 8000 * math.Sin(2*math.Pi*hz*t) * (0.6 + 0.4*math.Sin(2*math.Pi*3*t))
		s := int16(v)
		out[2*i], out[2*i+1] = byte(s), byte(s>>8)
	}
	return out
}

// encodeAudio encodes 8 kHz PCM16LE to format f with the project's codec.
func encodeAudio(f codec.Format, pcm []byte) []byte {
	var b bytes.Buffer
	w, err := codec.NewWriter(&b, f, int64(len(pcm)/2))
	if err != nil {
		panic(err)
	}
	if _, err := w.Write(pcm); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// tone encodes secs seconds of tonePCM(secs, 440) to f.
func tone(f codec.Format, secs float64) []byte { return encodeAudio(f, tonePCM(secs, 440)) }

// mpeg25 encodes secs seconds of the tone as MPEG-2.5 Layer III at 8 kHz,
// 16 kbit/s, mono, with the project's MP3 encoder: the rate telephone
// voice mail is recorded at, which only MPEG 2.5 carries.
func mpeg25(secs float64) []byte {
	pcm := tonePCM(secs, 440)
	var b bytes.Buffer
	w, err := codec.NewMP3Writer(&b, int64(len(pcm)/2), codec.MP3Options{Bitrate: 16, SampleRate: 8000})
	if err != nil {
		panic(err)
	}
	if _, err := w.Write(pcm); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// oggVorbisHead is the first page of an Ogg Vorbis stream (RFC 3533 6,
// Vorbis I 4.2.2 identification header): 8 kHz, one channel. The audio
// pages behind it are filler; only the signature matters here.
func oggVorbisHead() []byte {
	var b bytes.Buffer
	ident := []byte("\x01vorbis\x00\x00\x00\x00\x01\x40\x1f\x00\x00\x00\x00\x00\x00\x80\x3e\x00\x00\x00\x00\x00\x00\xb8\x01")
	b.WriteString("OggS\x00\x02")
	b.Write(make([]byte, 8))                  // granule position
	b.WriteString("\x01\x02\x03\x04")         // stream serial
	b.Write(make([]byte, 4))                  // page sequence 0
	b.Write(make([]byte, 4))                  // CRC (not computed)
	b.WriteByte(1)                            // one segment
	b.WriteByte(byte(len(ident)))             // its length
	b.Write(ident)                            //
	b.Write(bytes.Repeat([]byte{0x5A}, 4000)) // stands for the audio pages
	return b.Bytes()
}

// wav44Stereo builds secs seconds of 44.1 kHz stereo 16-bit PCM WAV:
// music, not telephone-band voice.
func wav44Stereo(secs float64) []byte {
	n := int(secs * 44100)
	var b bytes.Buffer
	data := 4 * n
	b.WriteString("RIFF")
	b.Write(le32(uint32(36 + data)))
	b.WriteString("WAVEfmt ")
	b.Write(le32(16))
	b.Write([]byte{1, 0, 2, 0})
	b.Write(le32(44100))
	b.Write(le32(44100 * 4))
	b.Write([]byte{4, 0, 16, 0})
	b.WriteString("data")
	b.Write(le32(uint32(data)))
	for i := range n {
		t := float64(i) / 44100
		l := int16(6000 * math.Sin(2*math.Pi*261.6*t))
		r := int16(6000 * math.Sin(2*math.Pi*329.6*t))
		b.Write([]byte{byte(l), byte(l >> 8), byte(r), byte(r >> 8)})
	}
	return b.Bytes()
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

// qp encodes data as quoted-printable (RFC 2045 6.7) with CRLF soft breaks.
func qp(data []byte) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write(data)
	w.Close()
	return strings.ReplaceAll(strings.ReplaceAll(b.String(), "\r\n", "\n"), "\n", "\r\n")
}

// oneLineB64 encodes data as base64 on a single line (RFC 2045 6.8 wants
// lines of at most 76 characters).
func oneLineB64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }

// v2Header is a VPIM v2 header with the given To and extra fields.
func v2Header(id, to string, extra ...string) string {
	h := `From: "Alice Example" <2145551212@vm2.example.net>
To: ` + to + `
Date: Mon, 23 Nov 2026 10:20:20 -0500
Subject: Voice Message
Message-ID: <` + id + `@vm2.example.net>
MIME-Version: 1.0 (Voice 2.0)`
	for _, e := range extra {
		h += "\n" + e
	}
	return h + "\nContent-Type: multipart/voice-message; version=2.0; boundary=\"VB\""
}

// ivmHeader is an IVM header with the given To and extra fields.
func ivmHeader(id, to string, extra ...string) string {
	h := `From: "Bob Example" <bob@mail.example.org>
To: ` + to + `
Date: Mon, 23 Nov 2026 10:20:20 +0100
Subject: Voice message from Bob
Message-ID: <` + id + `@mail.example.org>
MIME-Version: 1.0
Message-Context: voice-message`
	for _, e := range extra {
		h += "\n" + e
	}
	return h + "\nContent-Type: multipart/mixed; boundary=\"MB\""
}

// adpcmPart is an audio/32KADPCM part with role and duration.
func adpcmPart(role string, secs float64) string {
	return part(fmt.Sprintf("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; voice=%s; filename=msg.726\r\nContent-Duration: %d", role, int(secs+0.5)), b64(tone(codec.ADPCM32, secs)))
}

// basicPart is an IVM audio/basic part.
func basicPart(role, handling string, secs float64) string {
	return part(fmt.Sprintf("Content-Type: audio/basic; name=msg1.au\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; voice=%s; handling=%s; filename=msg1.au\r\nContent-Duration: %d", role, handling, int(secs+0.5)), b64(tone(codec.Basic, secs)))
}

// defectCorpus adds the issue 10 messages to m, named dNN-* after the
// defect they show.
func defectCorpus(m map[string][]byte) {
	// 1. VPIM v1 output structure (RFC 1911 14, 4.3).
	m["d01-vpim2-voice-to-vpim1"] = msg(v2Header("d01a", "2145551234@v1.example.net"),
		multipart("VB", adpcmPart("Voice-Message", 3)))
	m["d01-name-and-message-to-vpim1"] = msg(v2Header("d01b", "2145551234@v1.example.net"),
		multipart("VB", adpcmPart("Originator-Spoken-Name", 1), adpcmPart("Voice-Message", 4)))
	m["d01-text-vcard-to-vpim1"] = msg(ivmHeader("d01c", "2145551234@v1.example.net"),
		multipart("MB", textPart,
			"Content-Type: text/directory; profile=vCard\r\n\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob Example\r\nEND:VCARD",
			basicPart("Voice-Message", "REQUIRED", 2)))

	// 2. Privacy split at RCPT (RFC 3801 4.2.13, DESIGN one target per transaction).
	m["d02-private-capable-and-not"] = msg(v2Header("d02a", "3135551234@vm2.example.net, 3135550000@vm3.example.net", "Sensitivity: Private"),
		multipart("VB", adpcmPart("Voice-Message", 2)))
	m["d02-private-capable-and-bridge"] = msg(v2Header("d02b", "3135551234@vm2.example.net, VOICE=+15145551234@voice.example.com", "Sensitivity: Private"),
		multipart("VB", adpcmPart("Voice-Message", 2)))

	// 3. v1 Sensitivity to VPIM v2 (RFC 1911 4.2, RFC 3801 4.2.13).
	v1 := `From: 2175552345@vm1.example.com
To: 3135551234@vm2.example.net
Date: Mon, 23 Nov 2026 10:20:20 -0600
Message-ID: <d03a@vm1.example.com>
MIME-Version: 1.0 (Voice 1.0)
Sensitivity: Personal
Content-Type: multipart/voice-message; boundary="B1"`
	positional := multipart("B1",
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", b64(tone(codec.ADPCM32, 1))),
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", b64(tone(codec.ADPCM32, 2))),
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", b64(tone(codec.ADPCM32, 5))))
	m["d03-v1-personal-to-vpim2"] = msg(v1, positional)
	m["d03-draft-private-if-possible-to-vpim2"] = msg(`From: 2175552345@vm1.example.com
To: 3135551234@vm2.example.net
Date: Mon, 23 Nov 2026 10:20:20 -0600
Message-ID: vm1.example.com-00004711
MIME-Version: 1.0 (Voice Profile Version 1)
Sensitivity: Private-if-Possible
Content-Type: multipart/mixed; boundary="B1"`,
		multipart("B1", part("Content-Type: Audio/ADPCM\r\nContent-Transfer-Encoding: Base-64", b64(tone(codec.ADPCM32, 3)))))

	// 4. Private voice mail to a destination that cannot keep it private.
	m["d04-private-voice-to-passthrough"] = msg(v2Header("d04a", "1@pass.example.net", "Sensitivity: Private"),
		multipart("VB", adpcmPart("Voice-Message", 2)))
	m["d04-private-plain-to-passthrough"] = msg(`From: heidi@mail.example.org
To: 2@pass.example.net
Date: Mon, 23 Nov 2026 09:00:00 +0000
Subject: quarterly figures
Message-ID: <d04b@mail.example.org>
Sensitivity: Private
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii`, "Please keep this to yourself.\r\n")

	// 5. A Message-ID with comments (RFC 5322 3.6.4 msg-id = [CFWS] "<" ... ">" [CFWS]).
	m["d05-message-id-cfws"] = msg(strings.Replace(ivmHeader("d05", "carol@mail.example.org"),
		"Message-ID: <d05@mail.example.org>", "Message-ID: (comment) <abc.123@vm.example.com> (trailing)", 1),
		multipart("MB", basicPart("Voice-Message", "REQUIRED", 2)))

	// 6. IVM → VPIM v2 parts (RFC 3801 4.5.4, RFC 4239 9.3).
	m["d06-ivm-text-to-vpim2"] = msg(ivmHeader("d06a", "3135551234@vm2.example.net"),
		multipart("MB", textPart, basicPart("Voice-Message", "REQUIRED", 2)))
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), bytes.Repeat([]byte{7}, 200)...)
	m["d06-ivm-required-png-to-vpim2"] = msg(ivmHeader("d06b", "3135551234@vm2.example.net"),
		multipart("MB", basicPart("Voice-Message", "REQUIRED", 2),
			part("Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; handling=REQUIRED; filename=chart.png", b64(png))))

	// 7. Voice inside forwarded messages (RFC 4239 7: "at any location").
	innerV2 := "From: 5551000@vm2.example.net\r\nSubject: original\r\nDate: Mon, 23 Nov 2026 08:00:00 -0500\r\nMessage-ID: <inner7@vm2.example.net>\r\nMIME-Version: 1.0 (Voice 2.0)\r\nContent-Type: multipart/voice-message; version=2.0; boundary=IN\r\n\r\n" +
		multipart("IN", adpcmPart("Voice-Message", 3))
	m["d07-forwarded-adpcm-to-ivm"] = msg(v2Header("d07a", "walt@mail.example.org"),
		multipart("VB", adpcmPart("Voice-Message", 1), part("Content-Type: message/rfc822", innerV2)))
	innerIVM := "From: bob@mail.example.org\r\nSubject: original\r\nDate: Mon, 23 Nov 2026 08:00:00 +0100\r\nMessage-ID: <inner7b@mail.example.org>\r\nMIME-Version: 1.0\r\nMessage-Context: voice-message\r\nContent-Type: multipart/mixed; boundary=IN\r\n\r\n" +
		multipart("IN", basicPart("Voice-Message", "REQUIRED", 3))
	m["d07-forwarded-basic-to-vpim2"] = msg(ivmHeader("d07b", "3135551234@vm2.example.net"),
		multipart("MB", basicPart("Voice-Message", "REQUIRED", 1), part("Content-Type: message/rfc822", innerIVM)))

	// 8. Audio the codec may or may not decode: check and rewrite must agree.
	m["d08-ogg-to-ivm"] = msg(`From: "Voicemail" <vm@pbx.example.com>
To: carol@mail.example.org
Date: Mon, 23 Nov 2026 10:15:32 +0100
Subject: New voicemail
Message-ID: <d08a@pbx.example.com>
X-Asterisk-CallerID: 0612345678
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="AS"`, multipart("AS", textPart,
		wavPart(`audio/ogg; name="msg0000.ogg"`, `attachment; filename="msg0000.ogg"`, oggVorbisHead())))
	m["d08-mp3-mpeg25-to-ivm"] = msg(`From: "Unified Messaging" <um@exchange.example.com>
To: carol@mail.example.org
Date: Mon, 23 Nov 2026 09:00:00 +0000
Subject: Voice Mail from 5551234 (2 seconds)
Message-ID: <d08b@exchange.example.com>
Content-Class: voice-ca
X-CallingTelephoneNumber: 5551234
X-VoiceMessageDuration: 2
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="EX"`, multipart("EX", textPart,
		wavPart("audio/mpeg; name=audio.mp3", "attachment; filename=audio.mp3", mpeg25(2))))

	// 9. Reports with spoken parts (RFC 3801 4.6, RFC 4239 7).
	dsn := `From: MAILER-DAEMON@vm2.example.net
To: %s
Date: Mon, 23 Nov 2026 10:00:00 +0000
Subject: Returned voice message
Message-ID: <%s@vm2.example.net>
MIME-Version: 1.0 (Voice 2.0)
Content-Type: multipart/report; report-type=delivery-status; boundary="R"`
	status := "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; vm2.example.net\r\n\r\nFinal-Recipient: rfc822; 1@vm2.example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
	m["d09-dsn-spoken-filename-to-ivm"] = msg(fmt.Sprintf(dsn, "peggy@mail.example.org", "d09a"), multipart("R",
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; voice=Voice-Message-Notification; filename=nondeliv.726", b64(tone(codec.ADPCM32, 2))),
		status, "Content-Type: text/rfc822-headers\r\n\r\nSubject: original\r\n"))
	m["d09-dsn-wav-spoken-to-vpim2"] = msg(fmt.Sprintf(dsn, "2145551212@vm2.example.net", "d09b"), multipart("R",
		wavPart("audio/wav; name=nondeliv.wav", "inline; voice=Voice-Message-Notification; filename=nondeliv.wav", tone(codec.WAVULaw, 2)),
		status, "Content-Type: text/rfc822-headers\r\n\r\nSubject: original\r\n"))

	// 10. RFC 5322 3.6 in the output.
	m["d10-duplicate-fields-to-ivm"] = msg(`From: "Bob Example" <bob@mail.example.org>
To: carol@mail.example.org
Cc: dan@mail.example.org
Cc: erin@mail.example.org
Date: Mon, 23 Nov 2026 10:20:20 +0100
Date: Mon, 23 Nov 2026 10:21:00 +0100
Subject: Voice message from Bob
Subject: Voice message from Bob (resent)
Message-ID: <d10a@mail.example.org>
Message-ID: <d10a-2@mail.example.org>
MIME-Version: 1.0
Message-Context: voice-message
Content-Type: multipart/mixed; boundary="MB"`, multipart("MB", basicPart("Voice-Message", "REQUIRED", 2)))
	m["d10-no-date-to-ivm"] = msg(strings.Replace(ivmHeader("d10b", "carol@mail.example.org"), "Date: Mon, 23 Nov 2026 10:20:20 +0100\n", "", 1),
		multipart("MB", basicPart("Voice-Message", "REQUIRED", 2)))

	// 11. Findings raised but not fixed (RFC 3801 4.2.12, RFC 2045 6.8).
	m["d11-qp-audio-to-vpim2"] = msg(v2Header("d11a", "3135551234@vm2.example.net"), multipart("VB",
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Disposition: inline; voice=Voice-Message; filename=msg.726\r\nContent-Duration: 1", qp(tone(codec.ADPCM32, 1)))))
	long := tone(codec.ADPCM32, 5.2425) // 20,970 bytes: one base64 line of 27,960 characters
	m["d11-long-base64-line-to-vpim2"] = msg(v2Header("d11b", "3135551234@vm2.example.net"), multipart("VB",
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; voice=Voice-Message; filename=msg.726\r\nContent-Duration: 5", oneLineB64(long))))

	// 12. Two Sensitivity fields: the most restrictive counts.
	m["d12-two-sensitivity-to-ivm"] = msg(v2Header("d12", "dave@mail.example.org", "Sensitivity: Personal", "Sensitivity: Private"),
		multipart("VB", adpcmPart("Voice-Message", 2)))

	// 13. Conformant input passes byte-identical: see conformantCorpus.
	conformantCorpus(m)

	// 14. Voice mail recognised by its content.
	m["d14-fritzbox-alaw"] = msg(`From: "FRITZ!Box" <fritzbox@example.de>
To: anna@mail.example.org
Date: Mon, 23 Nov 2026 10:15:00 +0100
Subject: =?utf-8?Q?Nachricht_von_0301234567_f=C3=BCr_1234567?=
Message-ID: <d14a.fritzbox@example.de>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="FB"`, multipart("FB",
		part("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable",
			"Hallo,=0D=0A=0D=0Aam 23.11.2026 um 10:15 Uhr hat 0301234567 eine Nachricht f=C3=BCr Sie hinterlassen.=0D=0A"),
		wavPart(`audio/x-wav; name="20261123_1015_0301234567.wav"`, `attachment; filename="20261123_1015_0301234567.wav"`, tone(codec.WAVALaw, 3))))
	m["d14-asterisk-no-callerid"] = msg(`Date: Mon, 23 Nov 2026 10:15:32 +0100
From: "Asterisk PBX" <asterisk@pbx.example.com>
To: "Eve" <eve@mail.example.org>
Subject: [PBX]: New message 2 in mailbox 1001
Message-ID: <Asterisk-2-43-1001-4242@pbx.example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----voicemail_2"`, multipart("----voicemail_2",
		part("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit", "Dear Eve:\r\n\r\n\tjust wanted to let you know you were just left a 0:03 long message (number 2)\r\nin mailbox 1001 from an unknown caller."),
		wavPart(`audio/x-wav; name="msg0001.wav"`, `attachment; filename="msg0001.wav"`, tone(codec.WAVPCM16, 3))))
	m["d14-asterisk-octet-stream-to-bridge"] = msg(`Date: Mon, 23 Nov 2026 10:15:32 +0100
From: "Asterisk PBX" <asterisk@pbx.example.com>
To: VOICE=+15145551234@voice.example.com
Subject: [PBX]: New message 3 in mailbox 1001
Message-ID: <Asterisk-3-44-1001-4242@pbx.example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----voicemail_3"`, multipart("----voicemail_3",
		part("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit", "You were left a 0:02 long message."),
		wavPart(`application/octet-stream; name="msg0002.wav"`, `attachment; filename="msg0002.wav"`, tone(codec.WAVULaw, 2))))
	m["d14-freeswitch"] = msg(`From: "FreeSWITCH" <freeswitch@fs.example.com>
To: frank@mail.example.org
Date: Mon, 23 Nov 2026 10:15:32 +0100
Subject: Voicemail from "Grace" <5551234> 00:00:03
Message-ID: <d14d@fs.example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="000XXX000"`, multipart("000XXX000",
		part("Content-Type: multipart/alternative; boundary=\"000AAA000\"", multipart("000AAA000",
			"Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 7bit\r\n\r\nCreated: Mon Nov 23 10:15:32 2026\r\nFrom: \"Grace\" 5551234\r\nDuration: 00:00:03\r\nAccount: 1000@fs.example.com",
			"Content-Type: text/html; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<html><body>Duration: 00:00:03</body></html>")),
		wavPart(`audio/wav; name="msg_1f3a.wav"`, `attachment; filename="msg_1f3a.wav"`, tone(codec.WAVPCM16, 3))))
	m["d14-music-44k-stereo"] = msg(`From: heidi@mail.example.org
To: ivan@mail.example.org
Date: Mon, 23 Nov 2026 09:00:00 +0000
Subject: the new chorus
Message-ID: <d14e@mail.example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="MU"`, multipart("MU", textPart,
		wavPart(`audio/wav; name="chorus.wav"`, `attachment; filename="chorus.wav"`, wav44Stereo(0.5))))
	m["d14-fax-tiff"] = msg(`From: "Fax" <fax@fax.example.com>
To: ivan@mail.example.org
Date: Mon, 23 Nov 2026 09:00:00 +0000
Subject: Fax from 5551234 (1 page)
Message-ID: <d14f@fax.example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="FX"`, multipart("FX", textPart,
		part("Content-Type: image/tiff; application=faxbw\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=fax.tif", b64(append([]byte("II*\x00"), bytes.Repeat([]byte{0}, 400)...)))))
	m["d14-exchange-recall"] = msg(`From: "Unified Messaging" <um@exchange.example.com>
To: grace@mail.example.org
Date: Mon, 23 Nov 2026 09:05:00 +0000
Subject: Recall: Voice Mail from 5551234 (6 seconds)
Message-ID: <d14g@exchange.example.com>
Content-Class: voice-ca
X-CallingTelephoneNumber: 5551234
X-VoiceMessageDuration: 6
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="RC"`, multipart("RC",
		"Content-Type: text/plain; charset=us-ascii\r\n\r\nUnified Messaging would like to recall the message \"Voice Mail from 5551234 (6 seconds)\".",
		"Content-Type: application/ms-tnef; name=winmail.dat\r\nContent-Transfer-Encoding: base64\r\n\r\n"+b64(append([]byte("\x78\x9f\x3e\x22"), bytes.Repeat([]byte{1}, 300)...))))
	m["d14-vvm-context-no-version"] = msg(`From: 5255110309@vvm.example.com
To: jane@mail.example.org
Date: Mon, 23 Nov 2026 09:00:00 +0000
Subject: voice mail
Message-ID: <d14h@vvm.example.com>
MIME-Version: 1.0 (Voice Version 2.0)
Message-Context: voice-message
X-CNS-Message-Context: voice-message
Content-Type: Multipart/voice-message; boundary="VV"`, multipart("VV",
		part("Content-Type: audio/wav\r\nContent-Transfer-Encoding: base64\r\nContent-Duration: 3\r\nContent-Disposition: inline; filename=message.wav", b64(tone(codec.WAVULaw, 3)))))

	// 15. Bridge recipients in a refused message.
	m["d15-bridge-text-only"] = msg(`From: heidi@mail.example.org
To: VOICE=+15145551234@voice.example.com
Date: Mon, 23 Nov 2026 09:00:00 +0000
Subject: please call
Message-ID: <d15a@mail.example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BT"`, multipart("BT", textPart))
	m["d15-bridge-private"] = msg(strings.Replace(ivmHeader("d15b", "VOICE=+15145551234@voice.example.com, kim@mail.example.org"), "MIME-Version: 1.0", "Sensitivity: Private\nMIME-Version: 1.0", 1),
		multipart("MB", basicPart("Voice-Message", "REQUIRED", 2)))

	// 16. RFC 1911 loopback@: not supported, refused at RCPT.
	m["d16-loopback"] = msg(`From: 2175552345@vm1.example.com
To: loopback@vm.example.com
Date: Mon, 23 Nov 2026 10:20:20 -0600
Message-ID: <d16@vm1.example.com>
MIME-Version: 1.0 (Voice 1.0)
Content-Type: multipart/voice-message; boundary="B1"`, positional)
}

// conformantCorpus adds messages that already conform to the profile of
// their recipient, in the forms senders really use (folding, encoded
// words, quoted and RFC 2231 parameters, parameter-name case, preamble and
// epilogue, transport padding): rewritten for their own target they must
// come out byte-identical (issue 10 defect 13).
func conformantCorpus(m map[string][]byte) {
	adpcm := func(disp string, secs float64) string {
		return part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: "+disp+fmt.Sprintf("\r\nContent-Duration: %d", int(secs+0.5)), b64(tone(codec.ADPCM32, secs)))
	}
	basic := func(ct, disp string, secs float64) string {
		return part("Content-Type: "+ct+"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: "+disp+fmt.Sprintf("\r\nContent-Duration: %d", int(secs+0.5)), b64(tone(codec.Basic, secs)))
	}
	m["d13-vpim2-folded"] = msg(`From: "Alice Example"
 <2145551212@vm2.example.net>
To: 3135551234@vm2.example.net
Date: Mon, 23 Nov 2026 10:20:20 -0500 (EST)
Subject: Voice Message about the
	quarterly review
Message-ID: <d13a@vm2.example.net>
MIME-Version: 1.0 (Voice 2.0)
Content-Type: multipart/voice-message;
 version=2.0;
 boundary="VB"`, multipart("VB", adpcm("inline;\r\n voice=Voice-Message;\r\n filename=msg1.726", 3)))
	m["d13-vpim2-encoded-words"] = msg(`From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <2145551212@vm2.example.net>
To: 3135551234@vm2.example.net
Date: Mon, 23 Nov 2026 10:20:20 +0100
Subject: =?UTF-8?B?U3ByYWNobmFjaHJpY2h0IGbDvHIgU2llIMOcYmVyIGRhcyBQcm9qZWt0?=
Message-ID: <d13b@vm2.example.net>
MIME-Version: 1.0 (Voice 2.0)
Content-Type: multipart/voice-message; version=2.0; boundary=VB`, multipart("VB",
		adpcm("inline; voice=Originator-Spoken-Name; filename=name.726", 1),
		adpcm("inline; voice=Voice-Message; filename=msg.726", 3)))
	m["d13-vpim2-quoted-params"] = msg(strings.Replace(v2Header("d13c", "3135551234@vm2.example.net"), `version=2.0; boundary="VB"`, `version="2.0"; boundary="VB"`, 1),
		multipart("VB", adpcm(`inline; voice="Voice-Message"; filename="msg 1.726"`, 2)))
	m["d13-vpim2-param-case"] = msg(strings.Replace(v2Header("d13d", "3135551234@vm2.example.net"), `multipart/voice-message; version=2.0; boundary="VB"`, `Multipart/Voice-Message; Version=2.0; Boundary="VB"`, 1),
		multipart("VB", adpcm(`INLINE; Voice=Voice-Message; Filename=MSG1.726`, 2)))
	m["d13-vpim2-rfc2231"] = msg(v2Header("d13e", "3135551234@vm2.example.net"), multipart("VB",
		adpcm("inline; voice=Voice-Message;\r\n filename*=UTF-8''Nachricht%20f%C3%BCr%20J%C3%BCrgen.726", 2)))
	m["d13-vpim2-fax"] = msg(v2Header("d13f", "3135551234@vm2.example.net", "Importance: high"), multipart("VB",
		adpcm("inline; voice=Voice-Message; filename=msg.726", 2),
		part("Content-Type: image/tiff; application=faxbw\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; filename=fax.tif", b64(append([]byte("II*\x00"), bytes.Repeat([]byte{0}, 200)...)))))
	m["d13-ivm-folded"] = msg(`From: "Bob Example" <bob@mail.example.org>
To: "Carol Example"
	<carol@mail.example.org>
Date: Mon, 23 Nov 2026 10:20:20 +0100
Subject: Voice message from Bob,
 please call back
Message-ID: <d13g@mail.example.org>
MIME-Version: 1.0
Message-Context: voice-message
Content-Type: multipart/mixed;
	boundary="MB"`, multipart("MB", textPart,
		basic("audio/basic;\r\n name=\"msg1.au\"", "inline; voice=Voice-Message;\r\n handling=REQUIRED; filename=\"msg1.au\"", 2)))
	m["d13-ivm-encoded-words"] = msg(`From: =?ISO-8859-1?Q?Ren=E9?= <rene@mail.example.org>
To: carol@mail.example.org
Date: Mon, 23 Nov 2026 10:20:20 +0100
Subject: =?ISO-8859-1?Q?Nouveau_message_vocal_de_Ren=E9?=
Message-ID: <d13h@mail.example.org>
MIME-Version: 1.0
Message-Context: voice-message
Caller-ID: 33123456789
Caller-Name: =?ISO-8859-1?Q?Ren=E9?=
Content-Type: multipart/mixed; boundary="MB"`, multipart("MB",
		basic("audio/basic", "inline; voice=Originator-Spoken-Name; handling=OPTIONAL; filename=name.au", 1),
		basic("audio/basic", "inline; voice=Voice-Message; handling=REQUIRED; filename=msg.au", 3)))
	m["d13-ivm-rfc2231"] = msg(ivmHeader("d13i", "carol@mail.example.org"), multipart("MB",
		basic("audio/basic", "inline; voice=Voice-Message; handling=REQUIRED;\r\n filename*=UTF-8''Sprachnachricht%20f%C3%BCr%20Carol.au", 2)))
	pre := "This is a multi-part message in MIME format.\r\n"
	body := pre + strings.Replace(multipart("MB", textPart, basic("audio/basic; name=msg1.au", "inline; voice=Voice-Message; handling=REQUIRED; filename=msg1.au", 2)),
		"--MB--\r\n", "--MB-- \r\nEpilogue: ignored by every reader.\r\n", 1)
	body = strings.Replace(body, "--MB\r\n", "--MB  \r\n", 1) // transport padding (RFC 2046 5.1.1)
	m["d13-ivm-preamble-epilogue"] = msg(ivmHeader("d13j", "carol@mail.example.org"), body)
	m["d13-vpim1-positional"] = msg(`From: "Parsons, Glenn, W." <2175552345@vm1.example.com>
To: 2145551234@v1.example.net
Date: Mon, 23 Nov 2026 10:20:20 -0600
Message-ID: <d13k@vm1.example.com>
MIME-Version: 1.0 (Voice 1.0)
Content-Type: multipart/voice-message; boundary="B1"`, multipart("B1",
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", b64(tone(codec.ADPCM32, 1))),
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", ""),
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", b64(tone(codec.ADPCM32, 4)))))
}

// fixedDefects lists the defects of issue 10 whose fix has landed; the
// cases of the others are skipped (their golden reports show today's
// behaviour).
var fixedDefects = map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 10: true, 11: true, 12: true, 13: true, 14: true, 15: true, 16: true}

// defectCase is one issue 10 case: a corpus message, the RFC text that
// decides it and what the delivered message (or the refusal) must show.
type defectCase struct {
	defect int
	name   string // corpus message
	rfc    string // the sentence that decides the case, with its source
	check  func(t *testing.T, r *corpusRun)
}

// leaves lists the leaf parts of m in document order, entering embedded
// messages.
func leaves(m *Message) []*Part {
	var out []*Part
	m.Walk(func(p *Part, _ int) bool {
		if !p.IsMultipart() && p.Embedded == nil {
			out = append(out, p)
		}
		return true
	})
	return out
}

// wantVerdict fails unless the run's verdict (with its reply) starts with want.
func wantVerdict(t *testing.T, r *corpusRun, want string) {
	t.Helper()
	if got := r.verdict(); !strings.HasPrefix(got, want) {
		t.Errorf("verdict %q, want %q", got, want)
	}
}

// wantIdentical fails unless the message was delivered byte for byte.
func wantIdentical(t *testing.T, r *corpusRun, raw []byte) {
	t.Helper()
	if !bytes.Equal(r.out, raw) {
		t.Errorf("delivered message differs from the input (%s): actions %v", r.verdict(), actionsOf(r.rep))
	}
}

func defectCases() []defectCase {
	fieldsOf := func(t *testing.T, r *corpusRun, name string) []string {
		var out []string
		for _, f := range r.output(t).Root.Header {
			if strings.EqualFold(f.Name, name) {
				out = append(out, unfold(f.Value))
			}
		}
		return out
	}
	return []defectCase{
		{1, "d01-vpim2-voice-to-vpim1",
			`RFC 1911 14: "The Voice-Message content-type contains three body parts." ... "If no spoken name is available, the segment must still be present but may be empty."`,
			func(t *testing.T, r *corpusRun) {
				m := r.output(t)
				if m.Root.Type != "multipart/voice-message" || len(m.Root.Children) != 3 {
					t.Fatalf("top %s with %d parts, want multipart/voice-message with 3", m.Root.Type, len(m.Root.Children))
				}
				c := m.Root.Children
				if c[0].Data != 0 || c[1].Data != 0 || c[2].Data != 12000 || c[2].Type != "audio/32kadpcm" {
					t.Errorf("parts: name %d bytes, subject %d bytes, message %s %d bytes; want 0, 0, audio/32kadpcm 12000", c[0].Data, c[1].Data, c[2].Type, c[2].Data)
				}
			}},
		{1, "d01-name-and-message-to-vpim1",
			`RFC 1911 14: "The first is an audio segment containing the spoken name of the originator, the second is an audio segment containing a spoken subject, and the third is the voice message itself."`,
			func(t *testing.T, r *corpusRun) {
				c := r.output(t).Root.Children
				if len(c) != 3 || c[0].Data != 4000 || c[1].Data != 0 || c[2].Data != 16000 {
					t.Fatalf("want name 4000, subject 0, message 16000 bytes; got %d parts", len(c))
				}
			}},
		{1, "d01-text-vcard-to-vpim1",
			`RFC 1911 4.3: "Conformant implementations MUST NOT send the Text/Plain content-type."`,
			func(t *testing.T, r *corpusRun) {
				m := r.output(t)
				for _, p := range leaves(m) {
					if strings.HasPrefix(p.Type, "text/") {
						t.Errorf("part %s %s sent to a VPIM v1 destination", p.Path, p.Type)
					}
				}
				if m.Root.Type != "multipart/voice-message" || len(m.Root.Children) != 3 {
					t.Errorf("top %s with %d parts, want multipart/voice-message with 3", m.Root.Type, len(m.Root.Children))
				}
			}},
		{2, "d02-private-capable-and-not",
			`RFC 3801 4.2.13 and DESIGN.md: a Private message is refused only to destinations that cannot keep it private; a transaction carries recipients of one kind ("452 4.5.3 ... retry it in another transaction").`,
			func(t *testing.T, r *corpusRun) {
				if len(r.refused) != 1 || !strings.Contains(r.refused[0], "3135550000@vm3.example.net: 452 4.5.3") {
					t.Errorf("RCPT refusals %v, want the non-capable recipient deferred with 452 4.5.3", r.refused)
				}
				wantVerdict(t, r, "accept")
			}},
		{2, "d02-private-capable-and-bridge",
			`DIGEST §3: an outdial cannot stop forwarding or replay, so the bridge is never privacy-capable; it must not share a transaction with a privacy-capable recipient.`,
			func(t *testing.T, r *corpusRun) {
				if len(r.refused) != 1 || !strings.Contains(r.refused[0], "VOICE=+15145551234@voice.example.com: 452 4.5.3") {
					t.Errorf("RCPT refusals %v, want the bridge recipient deferred with 452 4.5.3", r.refused)
				}
				wantVerdict(t, r, "accept")
			}},
		{3, "d03-v1-personal-to-vpim2",
			`RFC 1911 4.2: "If a sensitivity header is present in the message, a conformant system MUST prohibit the recipient from forwarding this message"; RFC 3801 4.2.13: "If a user marks a message "Private", a conforming implementation MUST send only the "Private" sensitivity level."`,
			func(t *testing.T, r *corpusRun) {
				if got := fieldsOf(t, r, "Sensitivity"); len(got) != 1 || got[0] != "Private" {
					t.Errorf("Sensitivity %q, want one field Private", got)
				}
			}},
		{3, "d03-draft-private-if-possible-to-vpim2",
			`draft-umig-mime-voice-00 5.2: any Sensitivity header means the message must not be forwarded; RFC 3801 4.2.13: only "Private" carries that meaning in VPIM v2.`,
			func(t *testing.T, r *corpusRun) {
				if got := fieldsOf(t, r, "Sensitivity"); len(got) != 1 || got[0] != "Private" {
					t.Errorf("Sensitivity %q, want one field Private", got)
				}
			}},
		{4, "d04-private-voice-to-passthrough",
			`RFC 3801 4.2.13 (receive): a system that cannot assure privacy "MUST NOT deliver" a Private message; contrib/vpim-milter.toml: it is refused.`,
			func(t *testing.T, r *corpusRun) { wantVerdict(t, r, "reject 550 5.6.0") }},
		{4, "d04-private-plain-to-passthrough",
			`RFC 4021 2.1.55: Sensitivity is an ordinary header field; mail that is not voice mail is outside the profiles and passes untouched.`,
			func(t *testing.T, r *corpusRun) {
				wantVerdict(t, r, "accept")
				wantIdentical(t, r, corpus()["d04-private-plain-to-passthrough"])
			}},
		{5, "d05-message-id-cfws",
			`RFC 5322 3.6.4: msg-id = [CFWS] "<" id-left "@" id-right ">" [CFWS]; RFC 3801 4.2.7: "When provided in the original message, it MUST be used when sending a MDN."`,
			func(t *testing.T, r *corpusRun) {
				wantVerdict(t, r, "accept")
				wantIdentical(t, r, corpus()["d05-message-id-cfws"])
			}},
		{6, "d06-ivm-text-to-vpim2",
			`RFC 3801 4.5.4: "Implementations MAY send the Text/Plain content-type outside the Multipart/Voice-Message."; 4.5.1: "A VPIM voice message (i.e., multipart/voice-message) MAY be included within a message with a Multipart/Mixed top-level content type."`,
			func(t *testing.T, r *corpusRun) {
				m := r.output(t)
				if m.Root.Type != "multipart/mixed" || len(m.Root.Children) != 2 || m.Root.Children[0].Type != "text/plain" ||
					m.Root.Children[1].Type != "multipart/voice-message" || m.Root.Children[1].Params["version"] != "2.0" {
					t.Errorf("want multipart/mixed [text/plain, multipart/voice-message; version=2.0]")
				}
			}},
		{6, "d06-ivm-required-png-to-vpim2",
			`RFC 4239 9.3: "IVM content with critical media that VPIM cannot carry (e.g., image), with a Criticality of CRITICAL, would be rejected in the gateway".`,
			func(t *testing.T, r *corpusRun) { wantVerdict(t, r, "reject 550 5.6.1") }},
		{7, "d07-forwarded-adpcm-to-ivm",
			`RFC 4239 7: "Voice messages may be contained at any location within a message and MUST always be contained in an audio/basic content-type".`,
			func(t *testing.T, r *corpusRun) {
				for _, p := range leaves(r.output(t)) {
					if strings.HasPrefix(p.Type, "audio/") && p.Type != "audio/basic" {
						t.Errorf("part %s is %s", p.Path, p.Type)
					}
				}
			}},
		{7, "d07-forwarded-basic-to-vpim2",
			`RFC 3801 4.4.3: voice is sent as audio/32KADPCM; 4.8: a forwarded message is a message/rfc822 part of the VPIM message.`,
			func(t *testing.T, r *corpusRun) {
				for _, p := range leaves(r.output(t)) {
					if strings.HasPrefix(p.Type, "audio/") && p.Type != "audio/32kadpcm" {
						t.Errorf("part %s is %s", p.Path, p.Type)
					}
				}
			}},
		{8, "d08-ogg-to-ivm",
			`Issue 10 rule: "whatever check --json lists under actions is exactly what rewrite and the milter do, and a rewritten message checks as accept for its target".`,
			func(t *testing.T, r *corpusRun) {
				for _, a := range actionsOf(r.rep) {
					if strings.Contains(a, "transcode") {
						t.Errorf("action %q for audio the codec cannot decode", a)
					}
				}
				wantVerdict(t, r, "accept")
			}},
		{8, "d08-mp3-mpeg25-to-ivm",
			`Issue 10 rule: the report says what rewrite does; RFC 4239 7: "sending implementations MUST use raw G.711 mu-law" when they can.`,
			func(t *testing.T, r *corpusRun) {
				recheckAccept(t, r, "carol@mail.example.org")
			}},
		{9, "d09-dsn-spoken-filename-to-ivm",
			`RFC 4239 7: raw G.711 mu-law "is indicated with a MIME content type of "audio/basic" (and SHOULD use a filename parameter that ends ".au")".`,
			func(t *testing.T, r *corpusRun) {
				p := r.output(t).Root.Children[0]
				if p.Type != "audio/basic" || !strings.HasSuffix(p.DispositionParams["filename"], ".au") {
					t.Errorf("spoken part %s filename %q", p.Type, p.DispositionParams["filename"])
				}
			}},
		{9, "d09-dsn-wav-spoken-to-vpim2",
			`RFC 3801 4.6: the human-readable part of a DSN "SHOULD be spoken"; 4.4.3: voice is sent as audio/32KADPCM.`,
			func(t *testing.T, r *corpusRun) {
				if p := r.output(t).Root.Children[0]; p.Type != "audio/32kadpcm" {
					t.Errorf("spoken part is %s", p.Type)
				}
			}},
		{10, "d10-duplicate-fields-to-ivm",
			`RFC 5322 3.6: orig-date, subject, message-id and cc may each occur at most once ("Max number: 1"); RFC 4239 3: an IVM message is an RFC 2822 message.`,
			func(t *testing.T, r *corpusRun) {
				for _, n := range []string{"Date", "Subject", "Message-ID", "Cc"} {
					if got := fieldsOf(t, r, n); len(got) != 1 {
						t.Errorf("%d %s fields", len(got), n)
					}
				}
				if got := fieldsOf(t, r, "Cc"); len(got) == 1 && got[0] != "dan@mail.example.org, erin@mail.example.org" {
					t.Errorf("Cc %q", got[0])
				}
			}},
		{10, "d10-no-date-to-ivm",
			`RFC 3801 4.2.4: "If the VPIM sender is relaying a message from a system that does not provide a time stamp, the time of arrival at the gateway system SHOULD be used as the date."`,
			func(t *testing.T, r *corpusRun) {
				if got := fieldsOf(t, r, "Date"); len(got) != 1 || got[0] != "Mon, 23 Nov 2026 10:30:00 +0000" {
					t.Errorf("Date %q, want the arrival time", got)
				}
			}},
		{11, "d11-qp-audio-to-vpim2",
			`RFC 3801 4.2.12: "When binary transport is not available, implementations MUST encode the audio and/or facsimile data as "Base64"."`,
			func(t *testing.T, r *corpusRun) {
				if p := r.output(t).Root.Children[0]; p.Encoding != "base64" || p.Data != 4000 {
					t.Errorf("part encoding %q, %d bytes", p.Encoding, p.Data)
				}
			}},
		{11, "d11-long-base64-line-to-vpim2",
			`RFC 2045 6.8: "The encoded output stream must be represented in lines of no more than 76 characters each."`,
			func(t *testing.T, r *corpusRun) {
				for _, l := range strings.Split(string(r.out), "\r\n") {
					if len(l) > 76 {
						t.Fatalf("line of %d characters", len(l))
					}
				}
			}},
		{12, "d12-two-sensitivity-to-ivm",
			`RFC 3801 4.2.13: a Private message goes only where privacy can be assured; with two Sensitivity fields the most restrictive one counts.`,
			func(t *testing.T, r *corpusRun) { wantVerdict(t, r, "reject 550 5.6.0") }},
		{14, "d14-fritzbox-alaw",
			`DIGEST §6: "detect by content sniffing (RIFF/.snd/MP3 frame sync), not by label": 8 kHz mono A-law is telephone audio.`,
			func(t *testing.T, r *corpusRun) {
				if r.rep.Profile != "vendor" {
					t.Errorf("profile %s, want vendor", r.rep.Profile)
				}
			}},
		{14, "d14-asterisk-no-callerid",
			`DIGEST §6: Asterisk mail carries X-Asterisk-CallerID only when the caller is known; the 8 kHz WAV makes it voice mail.`,
			func(t *testing.T, r *corpusRun) {
				if r.rep.Profile != "vendor" {
					t.Errorf("profile %s, want vendor", r.rep.Profile)
				}
			}},
		{14, "d14-freeswitch",
			`DIGEST §6: telephone-band audio (8 kHz mono) in a short message is voice mail.`,
			func(t *testing.T, r *corpusRun) {
				if r.rep.Profile != "vendor" {
					t.Errorf("profile %s, want vendor", r.rep.Profile)
				}
			}},
		{14, "d14-music-44k-stereo",
			`DIGEST §6: music (44.1 kHz stereo) is not voice mail; ordinary mail passes untouched.`,
			func(t *testing.T, r *corpusRun) {
				if r.rep.Profile != "none" {
					t.Errorf("profile %s, want none", r.rep.Profile)
				}
				wantIdentical(t, r, corpus()["d14-music-44k-stereo"])
			}},
		{14, "d14-vvm-context-no-version",
			`RFC 3458 / RFC 4239 3: "Message-Context: voice-message" marks an Internet voice message; RFC 1911 has no Message-Context and its MIME-Version comment is "(Voice 1.0)".`,
			func(t *testing.T, r *corpusRun) {
				if r.rep.Profile == "vpim1" {
					t.Errorf("profile vpim1")
				}
			}},
		{14, "d14-asterisk-octet-stream-to-bridge",
			`Issue 10 structure: the bridge hand-off uses the voice part the evaluation chose, recognised by its bytes.`,
			func(t *testing.T, r *corpusRun) {
				if got := voicePath(r.rep); got != "2" {
					t.Errorf("voice part %q, want part 2", got)
				}
			}},
		{15, "d15-bridge-text-only",
			`telephony.Gateway.HandOff: "message to a telephone number has no audio to play" (554 5.6.1); the report must say so instead of "hand to bridge".`,
			func(t *testing.T, r *corpusRun) {
				wantVerdict(t, r, "reject 554 5.6.1")
				if len(r.rep.Bridge) != 0 {
					t.Errorf("bridge %v in a refused message", r.rep.Bridge)
				}
			}},
		{16, "d16-loopback",
			`RFC 1911 4.1: "A special mailbox name named "loopback" SHOULD be designated for loopback testing. If supported, all messages sent to this mailbox MUST be returned back to the address listed in the From: address as a new message." It is not supported (a reflector to a forgeable address): refused at RCPT, no report line promising a reflection.`,
			func(t *testing.T, r *corpusRun) {
				if r.rep != nil || len(r.refused) != 1 || !strings.Contains(r.refused[0], "550 5.1.1 loopback mailbox is not supported") {
					t.Errorf("RCPT refusals %v, report %v", r.refused, r.rep != nil)
				}
			}},
		{15, "d15-bridge-private",
			`RFC 3801 4.2.13; a refused message is handed to nobody.`,
			func(t *testing.T, r *corpusRun) {
				wantVerdict(t, r, "reject 550 5.6.0")
				if len(r.rep.Bridge) != 0 {
					t.Errorf("bridge %v in a refused message", r.rep.Bridge)
				}
			}},
	}
}

// recheckAccept checks the delivered message again for rcpt: it must be
// accepted as it is.
func recheckAccept(t *testing.T, r *corpusRun, rcpt string) {
	t.Helper()
	e, err := New(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	again := runMessage(t, e, r.out)
	if v := again.rep.Plan.Verdict(); v != VerdictAccept {
		t.Errorf("rewritten message checks as %s: actions %v findings %v", v, actionsOf(again.rep), again.rep.Findings)
	}
}

// TestIssue10Defects runs each issue 10 case and checks the behaviour the
// quoted RFC text requires.
func TestIssue10Defects(t *testing.T) {
	msgs := corpus()
	for _, tc := range defectCases() {
		t.Run(tc.name, func(t *testing.T) {
			if !fixedDefects[tc.defect] {
				t.Skipf("defect %d not fixed yet", tc.defect)
			}
			t.Log(tc.rfc)
			tc.check(t, runMessage(t, goldenEngine(t, tc.name), msgs[tc.name]))
		})
	}
	t.Run("d13-conformant", func(t *testing.T) {
		if !fixedDefects[13] {
			t.Skip("defect 13 not fixed yet")
		}
		t.Log(`RFC 6376 3.4: a DKIM signature covers the header fields and body as sent; issue 10: "Edit only what a rule requires."`)
		n := 0
		for name, raw := range msgs {
			if !strings.HasPrefix(name, "d13-") {
				continue
			}
			n++
			r := runMessage(t, goldenEngine(t, name), raw)
			if r.rep == nil || r.rep.Plan.Verdict() != VerdictAccept || !bytes.Equal(r.out, raw) {
				t.Errorf("%s: %s, not delivered byte-identical", name, r.verdict())
			}
		}
		if n < 10 {
			t.Errorf("%d conformant messages, want at least 10", n)
		}
	})
}

// actionsOf is the report's list of actions.
func actionsOf(rep *Report) []string { return actionStrings(rep) }

// voicePath is the part the evaluation chose for the bridge.
func voicePath(rep *Report) string {
	if rep.Voice == nil {
		return "none"
	}
	return rep.Voice.Path
}
