/*
 * g726ref.c - libspandsp G.726 as a stdin/stdout filter, the reference
 * for vpim-milter's codec/g726 bitstream tests and tools/bench/codec/transcode.sh.
 *
 * build: cc -O2 -o g726ref g726ref.c -lspandsp      (Debian: libspandsp-dev)
 * usage: g726ref enc|dec RATE right|left < in > out
 *   enc: s16le 8 kHz mono -> packed G.726 codes
 *   dec: packed G.726 codes -> s16le
 *   RATE: 16000, 24000, 32000 or 40000
 *   right: first code in the low bits (RFC 3551 / RFC 3802, audio/32KADPCM)
 *   left:  first code in the high bits (ITU-T I.366.2 AAL2)
 * Memory is constant: the input is processed in blocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <spandsp.h>

#define BLOCK 4000 /* samples per block; a multiple of 8 keeps packing aligned */

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s enc|dec RATE right|left < in > out\n", argv[0]);
        return 2;
    }
    int enc = strcmp(argv[1], "enc") == 0;
    int rate = atoi(argv[2]);
    int packing = strcmp(argv[3], "left") == 0 ? G726_PACKING_LEFT : G726_PACKING_RIGHT;
    g726_state_t *st = g726_init(NULL, rate, G726_ENCODING_LINEAR, packing);
    if (st == NULL) {
        fprintf(stderr, "g726ref: bad rate %d\n", rate);
        return 2;
    }
    static int16_t pcm[BLOCK];
    static uint8_t codes[BLOCK];
    if (enc) {
        size_t n;
        while ((n = fread(pcm, sizeof(int16_t), BLOCK, stdin)) > 0) {
            int m = g726_encode(st, codes, pcm, (int) n);
            fwrite(codes, 1, (size_t) m, stdout);
        }
    } else {
        size_t n;
        /* BLOCK/4 bytes give at most BLOCK samples, even at 16 kbit/s (4 codes per byte) */
        while ((n = fread(codes, 1, BLOCK / 4, stdin)) > 0) {
            int m = g726_decode(st, pcm, codes, (int) n);
            fwrite(pcm, sizeof(int16_t), (size_t) m, stdout);
        }
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
