// _CImageCodecs: a thin C layer over the system libpng and libjpeg(-turbo).
//
// Internal module: no stable API. Its one job is to own the setjmp/longjmp
// error handling of both libraries, so that no longjmp ever crosses a Swift
// frame. Every function here returns a status code; on failure it writes a
// NUL-terminated message into the caller's `errbuf` and frees whatever it
// allocated. Pixel buffers handed back are malloc'd: release them with
// `i2i_image_free` / `i2i_free`.
#ifndef IMG2IMG_CIMAGECODECS_H
#define IMG2IMG_CIMAGECODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes shared by every entry point.
typedef enum i2i_status {
    I2I_OK = 0,
    I2I_CORRUPT = 1,      ///< malformed data (libpng / libjpeg message in errbuf)
    I2I_TRUNCATED = 2,    ///< the data ended before the image did
    I2I_UNSUPPORTED = 3,  ///< valid but not supported here (12-bit, lossless JPEG, ...)
    I2I_TOO_LARGE = 4,    ///< width * height above the caller's max_pixels, or the pixels above max_bytes
    I2I_NOMEM = 5,        ///< an allocation failed
    I2I_INVALID = 6       ///< bad arguments from the caller
} i2i_status;

/// A decoded image: `width * height * channels` samples, interleaved (HWC),
/// 8-bit samples as uint8_t, 16-bit samples as uint16_t in host byte order.
typedef struct i2i_image_out {
    uint32_t width;
    uint32_t height;
    uint32_t channels;       ///< 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
    uint32_t bit_depth;      ///< 8 or 16
    void *pixels;            ///< malloc'd
    uint8_t *exif;           ///< JPEG only: malloc'd copy of the first APP1 "Exif" payload, or NULL
    size_t exif_len;
    uint32_t warning_count;  ///< warnings the library emitted (JPEG: corrupt-data and EOF warnings)
    uint32_t truncated;      ///< JPEG only: 1 if the data ended early and libjpeg filled the rest (lenient mode)
    uint32_t source_color;   ///< JPEG only: 1 gray, 3 YCbCr/RGB, 4 CMYK, 5 YCCK (the file's color space)
    uint32_t adobe_inverted; ///< JPEG only: 1 if an Adobe APP14 marker said the CMYK values are inverted
} i2i_image_out;

/// Decoding limits and policies.
typedef struct i2i_decode_opts {
    uint64_t max_pixels;       ///< refuse width * height above this, before allocating (0 = no limit)
    uint64_t max_bytes;        ///< refuse a decoded pixel buffer above this many bytes, before allocating it (0 = no limit)
    int strict_truncation;     ///< JPEG: 1 = "Premature end of JPEG file" is an error (I2I_TRUNCATED)
    uint32_t max_jpeg_scans;   ///< JPEG: refuse files with more scans than this (0 = default 1000)
} i2i_decode_opts;

/// Decodes a PNG fully (every IDAT and the chunks up to IEND, so CRC errors
/// anywhere are reported) to its natural channel count and depth: palettes
/// expanded to RGB(A), tRNS turned into an alpha channel, 1/2/4-bit gray
/// expanded to 8 bits, 16-bit kept as 16-bit. No gamma is applied.
int i2i_png_decode(const uint8_t *data, size_t len, const i2i_decode_opts *opts,
                   i2i_image_out *out, char *errbuf, size_t errlen);

/// Decodes a JPEG to 1 channel (grayscale) or 3 channels (RGB). CMYK and
/// YCCK files are converted to RGB (see codecs.c for the formula). Warnings
/// are appended, one per line, to `warnbuf` (may be NULL).
int i2i_jpeg_decode(const uint8_t *data, size_t len, const i2i_decode_opts *opts,
                    i2i_image_out *out, char *errbuf, size_t errlen,
                    char *warnbuf, size_t warnlen);

/// Encodes 8- or 16-bit (host order) samples, 1 to 4 channels, as PNG.
int i2i_png_encode(const void *pixels, uint32_t width, uint32_t height,
                   uint32_t channels, uint32_t bit_depth, int compression_level,
                   uint8_t **out, size_t *out_len, char *errbuf, size_t errlen);

/// Encodes 8-bit gray (1 channel) or RGB (3 channels) as baseline JPEG.
/// `quality` is 1...100; `subsampling444` keeps full-resolution chroma.
int i2i_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                    uint32_t channels, int quality, int subsampling444,
                    uint8_t **out, size_t *out_len, char *errbuf, size_t errlen);

/// Frees the buffers of a decoded image and zeroes the pointers.
void i2i_image_free(i2i_image_out *img);

/// Frees a buffer returned by an encoder.
void i2i_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
