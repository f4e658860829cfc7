/* shineenc: encode raw mono PCM16LE with libshine (Debian libshine-dev),
 * for the MP3 benchmarks in this directory. libshine has no resampler, so
 * the input must already be at RATE Hz.
 *
 * libshine 3.1.1 (Debian 12) sets the padding bit on every MPEG-2 frame
 * even where the frame has no padding byte (16 kHz, 24 kbit/s: 108-byte
 * frames flagged 109), and decoders lose sync. shineenc sets the bit
 * from the length of each frame libshine returns, which changes nothing
 * else in the stream.
 *
 * usage: shineenc RATE KBPS IN.raw OUT.mp3
 */
#include <shine/layer3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
	if (argc != 5) {
		fprintf(stderr, "usage: shineenc RATE KBPS IN.raw OUT.mp3\n");
		return 2;
	}
	int rate = atoi(argv[1]), kbps = atoi(argv[2]);
	if (shine_check_config(rate, kbps) < 0) {
		fprintf(stderr, "shineenc: %d Hz at %d kbit/s not supported\n", rate, kbps);
		return 2;
	}
	FILE *in = fopen(argv[3], "rb"), *out = fopen(argv[4], "wb");
	if (!in || !out) {
		perror("shineenc");
		return 1;
	}
	shine_config_t cfg;
	shine_set_config_mpeg_defaults(&cfg.mpeg);
	cfg.wave.channels = PCM_MONO;
	cfg.wave.samplerate = rate;
	cfg.mpeg.mode = MONO;
	cfg.mpeg.bitr = kbps;
	shine_t s = shine_initialise(&cfg);
	if (!s) {
		fprintf(stderr, "shineenc: shine_initialise failed\n");
		return 1;
	}
	int spp = shine_samples_per_pass(s);
	int base = (spp == 1152 ? 144 : 72) * kbps * 1000 / rate; /* unpadded frame */
	int16_t *buf = malloc(sizeof(int16_t) * spp);
	size_t n;
	int written;
	while ((n = fread(buf, sizeof(int16_t), spp, in)) > 0) {
		if ((int)n < spp)
			memset(buf + n, 0, sizeof(int16_t) * (spp - n));
		unsigned char *data = shine_encode_buffer_interleaved(s, buf, &written);
		if (written >= 4 && data[0] == 0xFF) {
			if (written == base)
				data[2] &= ~2;
			else if (written == base + 1)
				data[2] |= 2;
		}
		if (written > 0 && fwrite(data, 1, written, out) != (size_t)written) {
			perror("shineenc");
			return 1;
		}
	}
	unsigned char *data = shine_flush(s, &written);
	if (written > 0)
		fwrite(data, 1, written, out);
	shine_close(s);
	free(buf);
	if (fclose(out) != 0) {
		perror("shineenc");
		return 1;
	}
	fclose(in);
	return 0;
}
