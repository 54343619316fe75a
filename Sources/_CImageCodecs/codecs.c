// The C side of ImageIO: libpng and libjpeg calls wrapped so that every
// longjmp lands in a setjmp of this file. Swift only ever sees status codes.
//
// Conventions
// - Every entry point heap-allocates a small context before its setjmp and
//   keeps everything it allocates later in that context, so nothing it needs
//   after a longjmp lives in a non-volatile local.
// - The library's error callback copies the message into the caller's
//   errbuf, records a status, and longjmps back.
#include "_CImageCodecs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <jpeglib.h>
#include <jerror.h>

// MARK: - Shared helpers

static void i2i_set_msg(char *buf, size_t len, const char *fmt, ...) {
    if (buf == NULL || len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static void i2i_append_line(char *buf, size_t len, const char *line) {
    if (buf == NULL || len == 0) return;
    size_t used = strnlen(buf, len);
    if (used + 1 >= len) return;
    snprintf(buf + used, len - used, "%s%s", used > 0 ? "\n" : "", line);
}

static int i2i_host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

static int i2i_check_pixels(uint64_t w, uint64_t h, uint64_t max_pixels, char *errbuf, size_t errlen) {
    uint64_t n = w * h; // w, h < 2^32 each, so no overflow
    if (max_pixels != 0 && n > max_pixels) {
        i2i_set_msg(errbuf, errlen,
                    "image is %llux%llu = %llu pixels, above the limit of %llu pixels",
                    (unsigned long long)w, (unsigned long long)h,
                    (unsigned long long)n, (unsigned long long)max_pixels);
        return I2I_TOO_LARGE;
    }
    return I2I_OK;
}

/// The decoded buffer: w * h * bytes per pixel (w, h < 2^32, bytes per pixel <= 8: no overflow).
static int i2i_check_bytes(uint64_t w, uint64_t h, uint64_t bytes_per_pixel, uint64_t max_bytes, char *errbuf,
                           size_t errlen) {
    const uint64_t n = w * h * bytes_per_pixel;
    if (max_bytes != 0 && n > max_bytes) {
        i2i_set_msg(errbuf, errlen,
                    "image is %llux%llu at %llu bytes per pixel = %llu MB decoded, above the limit of %llu MB",
                    (unsigned long long)w, (unsigned long long)h, (unsigned long long)bytes_per_pixel,
                    (unsigned long long)((n + 999999) / 1000000), (unsigned long long)(max_bytes / 1000000));
        return I2I_TOO_LARGE;
    }
    return I2I_OK;
}

void i2i_image_free(i2i_image_out *img) {
    if (img == NULL) return;
    free(img->pixels);
    free(img->exif);
    img->pixels = NULL;
    img->exif = NULL;
    img->exif_len = 0;
}

void i2i_free(void *p) { free(p); }

// MARK: - PNG decode

typedef struct png_dec_ctx {
    const uint8_t *data;
    size_t len;
    size_t pos;
    int truncated;      // the read callback ran out of data
    int status;         // status to return after a longjmp
    char *errbuf;
    size_t errlen;
    uint8_t *pixels;    // owned until handed to the caller
    png_bytep *rows;
} png_dec_ctx;

static void i2i_png_read(png_structp png, png_bytep out, size_t n) {
    png_dec_ctx *c = (png_dec_ctx *)png_get_io_ptr(png);
    if (n > c->len - c->pos) {
        c->truncated = 1;
        png_error(png, "unexpected end of PNG data");
    }
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
}

static void i2i_png_error(png_structp png, png_const_charp msg) {
    png_dec_ctx *c = (png_dec_ctx *)png_get_error_ptr(png);
    i2i_set_msg(c->errbuf, c->errlen, "%s", msg);
    if (c->truncated) {
        c->status = I2I_TRUNCATED;
    } else if (strstr(msg, "exceeds user limit") != NULL) {
        c->status = I2I_TOO_LARGE;
    } else if (strstr(msg, "memory") != NULL) {
        c->status = I2I_NOMEM;
    } else {
        c->status = I2I_CORRUPT;
    }
    png_longjmp(png, 1);
}

static void i2i_png_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg; // benign: ancillary-chunk problems, iCCP profiles, ...
}

static uint32_t i2i_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

int i2i_png_decode(const uint8_t *data, size_t len, const i2i_decode_opts *opts,
                   i2i_image_out *out, char *errbuf, size_t errlen) {
    if (data == NULL || out == NULL || opts == NULL) return I2I_INVALID;
    memset(out, 0, sizeof *out);
    i2i_set_msg(errbuf, errlen, "");
    if (len < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        i2i_set_msg(errbuf, errlen, "not a PNG signature");
        return I2I_CORRUPT;
    }
    // Bomb guard, before libpng allocates anything: IHDR must be the first chunk.
    if (len >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        int st = i2i_check_pixels(i2i_be32(data + 16), i2i_be32(data + 20), opts->max_pixels, errbuf, errlen);
        if (st != I2I_OK) return st;
    }

    png_dec_ctx *c = (png_dec_ctx *)calloc(1, sizeof *c);
    if (c == NULL) return I2I_NOMEM;
    c->data = data;
    c->len = len;
    c->errbuf = errbuf;
    c->errlen = errlen;
    c->status = I2I_CORRUPT;

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, i2i_png_error, i2i_png_warning);
    if (png == NULL) { free(c); return I2I_NOMEM; }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        free(c);
        return I2I_NOMEM;
    }

    if (setjmp(png_jmpbuf(png))) {
        int st = c->status;
        png_destroy_read_struct(&png, &info, NULL);
        free(c->rows);
        free(c->pixels);
        free(c);
        return st;
    }

    png_set_read_fn(png, c, i2i_png_read);
    // Backstop for the bomb guard: libpng itself refuses larger dimensions.
    uint64_t dim_limit = opts->max_pixels == 0 ? 0x7fffffffu
                       : (opts->max_pixels > 0x7fffffffu ? 0x7fffffffu : opts->max_pixels);
    png_set_user_limits(png, (png_uint_32)dim_limit, (png_uint_32)dim_limit);
    png_set_chunk_malloc_max(png, 8000000);
    // Ancillary chunks we never use are skipped unread. Besides saving work,
    // this matters for safety: libpng 1.6.39 allocates and zeroes a buffer of
    // the declared length for text chunks before noticing the file is 57
    // bytes long (libpng-testpngs/crashers/huge_zTXt_chunk.png: 1 GB, 1.7 s).
    static const png_byte ignored[] = {
        'b', 'K', 'G', 'D', '\0', 'c', 'H', 'R', 'M', '\0', 'e', 'X', 'I', 'f', '\0',
        'g', 'A', 'M', 'A', '\0', 'h', 'I', 'S', 'T', '\0', 'i', 'C', 'C', 'P', '\0',
        'i', 'T', 'X', 't', '\0', 'o', 'F', 'F', 's', '\0', 'p', 'C', 'A', 'L', '\0',
        'p', 'H', 'Y', 's', '\0', 's', 'B', 'I', 'T', '\0', 's', 'C', 'A', 'L', '\0',
        's', 'P', 'L', 'T', '\0', 's', 'R', 'G', 'B', '\0', 's', 'T', 'E', 'R', '\0',
        't', 'E', 'X', 't', '\0', 't', 'I', 'M', 'E', '\0', 'z', 'T', 'X', 't', '\0',
    };
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);            // unknown chunks
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, ignored, (int)(sizeof ignored / 5));

    png_read_info(png, info);
    png_uint_32 w = 0, h = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &w, &h, &bit_depth, &color_type, &interlace, NULL, NULL);
    {
        int st = i2i_check_pixels(w, h, opts->max_pixels, errbuf, errlen);
        if (st != I2I_OK) {
            c->status = st;
            png_longjmp(png, 1);
        }
    }

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (bit_depth == 16 && i2i_host_is_little_endian()) png_set_swap(png);
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    int out_depth = png_get_bit_depth(png, info);
    if (channels < 1 || channels > 4 || (out_depth != 8 && out_depth != 16)) {
        i2i_set_msg(errbuf, errlen, "unexpected PNG layout after transforms: %d channels, %d bits", channels, out_depth);
        c->status = I2I_CORRUPT;
        png_longjmp(png, 1);
    }
    {
        int st = i2i_check_bytes(w, h, (uint64_t)channels * (uint64_t)(out_depth / 8), opts->max_bytes, errbuf, errlen);
        if (st != I2I_OK) {
            c->status = st;
            png_longjmp(png, 1);
        }
    }
    size_t rowbytes = png_get_rowbytes(png, info);
    size_t want = (size_t)w * (size_t)channels * (size_t)(out_depth / 8);
    if (rowbytes != want || (h != 0 && rowbytes > SIZE_MAX / h)) {
        i2i_set_msg(errbuf, errlen, "unexpected PNG row size");
        c->status = I2I_CORRUPT;
        png_longjmp(png, 1);
    }
    c->pixels = (uint8_t *)malloc(rowbytes * h);
    c->rows = (png_bytep *)malloc(sizeof(png_bytep) * h);
    if (c->pixels == NULL || c->rows == NULL) {
        i2i_set_msg(errbuf, errlen, "out of memory for a %ux%u image", (unsigned)w, (unsigned)h);
        c->status = I2I_NOMEM;
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < h; y++) c->rows[y] = c->pixels + (size_t)y * rowbytes;
    png_read_image(png, c->rows);
    png_read_end(png, NULL); // reads the rest: a bad CRC after the image data still fails

    out->width = w;
    out->height = h;
    out->channels = (uint32_t)channels;
    out->bit_depth = (uint32_t)out_depth;
    out->pixels = c->pixels;
    c->pixels = NULL;
    png_destroy_read_struct(&png, &info, NULL);
    free(c->rows);
    free(c);
    return I2I_OK;
}

// MARK: - PNG encode

typedef struct png_enc_ctx {
    uint8_t *buf;
    size_t len;
    size_t cap;
    int status;
    char *errbuf;
    size_t errlen;
} png_enc_ctx;

static void i2i_png_write(png_structp png, png_bytep data, size_t n) {
    png_enc_ctx *c = (png_enc_ctx *)png_get_io_ptr(png);
    if (n > c->cap - c->len) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap - c->len < n) {
            if (cap > SIZE_MAX / 2) png_error(png, "PNG output too large");
            cap *= 2;
        }
        uint8_t *nb = (uint8_t *)realloc(c->buf, cap);
        if (nb == NULL) {
            c->status = I2I_NOMEM;
            png_error(png, "out of memory for PNG output");
        }
        c->buf = nb;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
}

static void i2i_png_flush(png_structp png) { (void)png; }

static void i2i_png_enc_error(png_structp png, png_const_charp msg) {
    png_enc_ctx *c = (png_enc_ctx *)png_get_error_ptr(png);
    i2i_set_msg(c->errbuf, c->errlen, "%s", msg);
    png_longjmp(png, 1);
}

int i2i_png_encode(const void *pixels, uint32_t width, uint32_t height,
                   uint32_t channels, uint32_t bit_depth, int compression_level,
                   uint8_t **out, size_t *out_len, char *errbuf, size_t errlen) {
    if (pixels == NULL || out == NULL || out_len == NULL) return I2I_INVALID;
    *out = NULL;
    *out_len = 0;
    i2i_set_msg(errbuf, errlen, "");
    if (width == 0 || height == 0 || width > 0x7fffffffu || height > 0x7fffffffu
        || channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16)) {
        i2i_set_msg(errbuf, errlen, "cannot encode %ux%u, %u channels, %u bits as PNG",
                    width, height, channels, bit_depth);
        return I2I_INVALID;
    }
    static const int color_types[5] = {
        0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA
    };
    png_enc_ctx *c = (png_enc_ctx *)calloc(1, sizeof *c);
    if (c == NULL) return I2I_NOMEM;
    c->status = I2I_CORRUPT;
    c->errbuf = errbuf;
    c->errlen = errlen;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, i2i_png_enc_error, i2i_png_warning);
    if (png == NULL) { free(c); return I2I_NOMEM; }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        free(c);
        return I2I_NOMEM;
    }
    if (setjmp(png_jmpbuf(png))) {
        int st = c->status == I2I_NOMEM ? I2I_NOMEM : I2I_INVALID;
        png_destroy_write_struct(&png, &info);
        free(c->buf);
        free(c);
        return st;
    }
    png_set_write_fn(png, c, i2i_png_write, i2i_png_flush);
    if (compression_level >= 0 && compression_level <= 9) png_set_compression_level(png, compression_level);
    png_set_IHDR(png, info, width, height, (int)bit_depth, color_types[channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    if (bit_depth == 16 && i2i_host_is_little_endian()) png_set_swap(png);
    size_t rowbytes = (size_t)width * channels * (bit_depth / 8);
    const uint8_t *base = (const uint8_t *)pixels;
    for (uint32_t y = 0; y < height; y++) {
        // libpng does not modify the row; its prototype is just not const.
        png_write_row(png, (png_bytep)(uintptr_t)(base + (size_t)y * rowbytes));
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = c->buf;
    *out_len = c->len;
    free(c);
    return I2I_OK;
}

// MARK: - JPEG decode

#define I2I_DEFAULT_MAX_SCANS 1000u
#define I2I_MAX_FORMATTED_WARNINGS 16

typedef struct jpeg_dec_ctx {
    struct jpeg_error_mgr pub;      // must be first: libjpeg hands us this pointer
    struct jpeg_progress_mgr progress;
    jmp_buf jb;
    int status;
    int strict_truncation;
    int saw_eof;
    uint32_t max_scans;
    uint32_t warnings;
    char *errbuf;
    size_t errlen;
    char *warnbuf;
    size_t warnlen;
    uint8_t *pixels;                // owned until handed to the caller
    uint8_t *row;                   // CMYK scratch row
    uint8_t *exif;
    size_t exif_len;
} jpeg_dec_ctx;

static int i2i_jpeg_classify(int code, int saw_eof) {
    switch (code) {
    case JERR_BAD_PRECISION:      // 12-bit (and other) precisions: this libjpeg is 8-bit only
    case JERR_SOF_UNSUPPORTED:    // lossless (SOF3), hierarchical, ...
    case JERR_ARITH_NOTIMPL:
    case JERR_NOT_COMPILED:
    case JERR_NOTIMPL:
    case JERR_CONVERSION_NOTIMPL:
        return I2I_UNSUPPORTED;
    case JERR_OUT_OF_MEMORY:
        return I2I_NOMEM;
    case JERR_INPUT_EMPTY:
    case JERR_INPUT_EOF:
        return I2I_TRUNCATED;
    default:
        return saw_eof ? I2I_TRUNCATED : I2I_CORRUPT;
    }
}

static void i2i_jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_dec_ctx *c = (jpeg_dec_ctx *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, msg);
    i2i_set_msg(c->errbuf, c->errlen, "%s", msg);
    c->status = i2i_jpeg_classify(c->pub.msg_code, c->saw_eof);
    longjmp(c->jb, 1);
}

static void i2i_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return; // trace messages
    jpeg_dec_ctx *c = (jpeg_dec_ctx *)cinfo->err;
    c->pub.num_warnings++;
    c->warnings++;
    int is_eof = c->pub.msg_code == JWRN_JPEG_EOF;
    if (is_eof) c->saw_eof = 1;
    if (is_eof && c->strict_truncation) {
        char msg[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, msg);
        i2i_set_msg(c->errbuf, c->errlen, "%s", msg);
        c->status = I2I_TRUNCATED;
        longjmp(c->jb, 1);
    }
    // A corrupt stream can warn once per MCU: format only the first few.
    if (c->warnings <= I2I_MAX_FORMATTED_WARNINGS) {
        char msg[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, msg);
        i2i_append_line(c->warnbuf, c->warnlen, msg);
    }
}

static void i2i_jpeg_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    jpeg_dec_ctx *c = (jpeg_dec_ctx *)cinfo->err;
    if (d->input_scan_number > 0 && (uint32_t)d->input_scan_number > c->max_scans) {
        i2i_set_msg(c->errbuf, c->errlen, "too many scans (more than %u): refusing a likely malicious JPEG",
                    c->max_scans);
        c->status = I2I_CORRUPT;
        longjmp(c->jb, 1);
    }
}

/// x * y / 255, rounded, for x, y in 0...255.
static inline uint8_t i2i_mul255(unsigned x, unsigned y) {
    unsigned t = x * y + 128;
    return (uint8_t)((t + (t >> 8)) >> 8);
}

int i2i_jpeg_decode(const uint8_t *data, size_t len, const i2i_decode_opts *opts,
                    i2i_image_out *out, char *errbuf, size_t errlen,
                    char *warnbuf, size_t warnlen) {
    if (data == NULL || out == NULL || opts == NULL) return I2I_INVALID;
    memset(out, 0, sizeof *out);
    i2i_set_msg(errbuf, errlen, "");
    i2i_set_msg(warnbuf, warnlen, "");
    if ((unsigned long)len != len) return I2I_INVALID;

    jpeg_dec_ctx *c = (jpeg_dec_ctx *)calloc(1, sizeof *c);
    if (c == NULL) return I2I_NOMEM;
    struct jpeg_decompress_struct *cinfo = (struct jpeg_decompress_struct *)calloc(1, sizeof *cinfo);
    if (cinfo == NULL) { free(c); return I2I_NOMEM; }
    c->status = I2I_CORRUPT;
    c->strict_truncation = opts->strict_truncation;
    c->max_scans = opts->max_jpeg_scans ? opts->max_jpeg_scans : I2I_DEFAULT_MAX_SCANS;
    c->errbuf = errbuf;
    c->errlen = errlen;
    c->warnbuf = warnbuf;
    c->warnlen = warnlen;

    cinfo->err = jpeg_std_error(&c->pub);
    c->pub.error_exit = i2i_jpeg_error_exit;
    c->pub.emit_message = i2i_jpeg_emit_message;
    if (setjmp(c->jb)) {
        int st = c->status;
        jpeg_destroy_decompress(cinfo);
        free(c->pixels);
        free(c->row);
        free(c->exif);
        free(c);
        free(cinfo);
        return st;
    }
    jpeg_create_decompress(cinfo);
    c->progress.progress_monitor = i2i_jpeg_progress;
    cinfo->progress = &c->progress;
    jpeg_mem_src(cinfo, (const unsigned char *)data, (unsigned long)len);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);

    if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK) {
        i2i_set_msg(errbuf, errlen, "JPEG datastream contains no image");
        c->status = I2I_CORRUPT;
        longjmp(c->jb, 1);
    }
    {
        int st = i2i_check_pixels(cinfo->image_width, cinfo->image_height, opts->max_pixels, errbuf, errlen);
        if (st != I2I_OK) {
            c->status = st;
            longjmp(c->jb, 1);
        }
    }
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
            c->exif = (uint8_t *)malloc(m->data_length);
            if (c->exif != NULL) {
                memcpy(c->exif, m->data, m->data_length);
                c->exif_len = m->data_length;
            }
            break;
        }
    }

    uint32_t source_color;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        source_color = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo->out_color_space = JCS_RGB;
        source_color = 3;
        break;
    case JCS_CMYK:
        cinfo->out_color_space = JCS_CMYK;
        source_color = 4;
        break;
    case JCS_YCCK:
        cinfo->out_color_space = JCS_CMYK; // libjpeg converts YCCK -> CMYK
        source_color = 5;
        break;
    default:
        i2i_set_msg(errbuf, errlen, "unsupported JPEG color space (%d components, unknown transform)",
                    cinfo->num_components);
        c->status = I2I_UNSUPPORTED;
        longjmp(c->jb, 1);
    }

    jpeg_calc_output_dimensions(cinfo);
    {   // before jpeg_start_decompress, which allocates libjpeg's own image-sized buffers
        const uint64_t bpp = cinfo->output_components == 4 ? 3 : (uint64_t)cinfo->output_components;
        int st = i2i_check_bytes(cinfo->output_width, cinfo->output_height, bpp, opts->max_bytes, errbuf, errlen);
        if (st != I2I_OK) {
            c->status = st;
            longjmp(c->jb, 1);
        }
    }
    jpeg_start_decompress(cinfo);
    uint32_t w = cinfo->output_width, h = cinfo->output_height;
    int comps = cinfo->output_components;
    if (w == 0 || h == 0 || !(comps == 1 || comps == 3 || comps == 4)) {
        i2i_set_msg(errbuf, errlen, "unexpected JPEG output: %ux%u, %d components", w, h, comps);
        c->status = I2I_CORRUPT;
        longjmp(c->jb, 1);
    }
    uint32_t out_ch = comps == 4 ? 3 : (uint32_t)comps;
    size_t out_row = (size_t)w * out_ch;
    c->pixels = (uint8_t *)malloc(out_row * h);
    if (comps == 4) c->row = (uint8_t *)malloc((size_t)w * 4);
    if (c->pixels == NULL || (comps == 4 && c->row == NULL)) {
        i2i_set_msg(errbuf, errlen, "out of memory for a %ux%u image", w, h);
        c->status = I2I_NOMEM;
        longjmp(c->jb, 1);
    }
    int inverted = cinfo->saw_Adobe_marker ? 1 : 0;
    while (cinfo->output_scanline < h) {
        uint32_t y = cinfo->output_scanline;
        JSAMPROW dst = comps == 4 ? c->row : c->pixels + (size_t)y * out_row;
        if (jpeg_read_scanlines(cinfo, &dst, 1) != 1) {
            i2i_set_msg(errbuf, errlen, "JPEG decoder made no progress at row %u", y);
            c->status = I2I_CORRUPT;
            longjmp(c->jb, 1);
        }
        if (comps == 4) {
            // CMYK -> RGB, the formula of Pillow and image-rs/jpeg-decoder:
            // R = (255 - C) * (255 - K) / 255. Adobe files store the inks
            // inverted (255 - C), so there R = C' * K' / 255.
            uint8_t *o = c->pixels + (size_t)y * out_row;
            const uint8_t *s = c->row;
            for (uint32_t x = 0; x < w; x++, s += 4, o += 3) {
                unsigned cc = s[0], mm = s[1], yy = s[2], kk = s[3];
                if (!inverted) { cc = 255 - cc; mm = 255 - mm; yy = 255 - yy; kk = 255 - kk; }
                o[0] = i2i_mul255(cc, kk);
                o[1] = i2i_mul255(mm, kk);
                o[2] = i2i_mul255(yy, kk);
            }
        }
    }
    jpeg_finish_decompress(cinfo);

    out->width = w;
    out->height = h;
    out->channels = out_ch;
    out->bit_depth = 8;
    out->pixels = c->pixels;
    out->exif = c->exif;
    out->exif_len = c->exif_len;
    out->warning_count = c->warnings;
    out->truncated = (uint32_t)c->saw_eof;
    out->source_color = source_color;
    out->adobe_inverted = (uint32_t)inverted;
    c->pixels = NULL;
    c->exif = NULL;
    jpeg_destroy_decompress(cinfo);
    free(c->row);
    free(c);
    free(cinfo);
    return I2I_OK;
}

// MARK: - JPEG encode

typedef struct jpeg_enc_ctx {
    struct jpeg_error_mgr pub;      // must be first
    struct jpeg_destination_mgr dest;
    jmp_buf jb;
    char *errbuf;
    size_t errlen;
    unsigned char *buf;             // our growable output buffer (libjpeg's own
    size_t cap;                     // mem destination would leave a stale pointer
    size_t len;                     // here if an error struck after a realloc)
} jpeg_enc_ctx;

// The destination callbacks find the context through cinfo->err (first member).
static void i2i_jpeg_dest_init(j_compress_ptr cinfo) {
    jpeg_enc_ctx *c = (jpeg_enc_ctx *)cinfo->err;
    c->cap = 65536;
    c->buf = (unsigned char *)malloc(c->cap);
    if (c->buf == NULL) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 100);
    c->dest.next_output_byte = c->buf;
    c->dest.free_in_buffer = c->cap;
}

static boolean i2i_jpeg_dest_empty(j_compress_ptr cinfo) {
    jpeg_enc_ctx *c = (jpeg_enc_ctx *)cinfo->err;
    size_t used = c->cap; // libjpeg calls this only when the buffer is full
    if (c->cap > SIZE_MAX / 2) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 101);
    unsigned char *nb = (unsigned char *)realloc(c->buf, c->cap * 2);
    if (nb == NULL) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 102);
    c->buf = nb;
    c->cap *= 2;
    c->dest.next_output_byte = c->buf + used;
    c->dest.free_in_buffer = c->cap - used;
    return TRUE;
}

static void i2i_jpeg_dest_term(j_compress_ptr cinfo) {
    jpeg_enc_ctx *c = (jpeg_enc_ctx *)cinfo->err;
    c->len = c->cap - c->dest.free_in_buffer;
}

static void i2i_jpeg_enc_error_exit(j_common_ptr cinfo) {
    jpeg_enc_ctx *c = (jpeg_enc_ctx *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, msg);
    i2i_set_msg(c->errbuf, c->errlen, "%s", msg);
    longjmp(c->jb, 1);
}

static void i2i_jpeg_enc_emit(j_common_ptr cinfo, int level) { (void)cinfo; (void)level; }

int i2i_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                    uint32_t channels, int quality, int subsampling444,
                    uint8_t **out, size_t *out_len, char *errbuf, size_t errlen) {
    if (pixels == NULL || out == NULL || out_len == NULL) return I2I_INVALID;
    *out = NULL;
    *out_len = 0;
    i2i_set_msg(errbuf, errlen, "");
    if (width == 0 || height == 0 || width > 65500 || height > 65500 || (channels != 1 && channels != 3)) {
        i2i_set_msg(errbuf, errlen, "cannot encode %ux%u with %u channels as JPEG (max 65500 per side, gray or RGB)",
                    width, height, channels);
        return I2I_INVALID;
    }
    const int q = quality < 1 ? 1 : (quality > 100 ? 100 : quality);

    jpeg_enc_ctx *c = (jpeg_enc_ctx *)calloc(1, sizeof *c);
    if (c == NULL) return I2I_NOMEM;
    struct jpeg_compress_struct *cinfo = (struct jpeg_compress_struct *)calloc(1, sizeof *cinfo);
    if (cinfo == NULL) { free(c); return I2I_NOMEM; }
    c->errbuf = errbuf;
    c->errlen = errlen;
    cinfo->err = jpeg_std_error(&c->pub);
    c->pub.error_exit = i2i_jpeg_enc_error_exit;
    c->pub.emit_message = i2i_jpeg_enc_emit;
    if (setjmp(c->jb)) {
        jpeg_destroy_compress(cinfo);
        free(c->buf);
        free(c);
        free(cinfo);
        return I2I_INVALID;
    }
    jpeg_create_compress(cinfo);
    c->dest.init_destination = i2i_jpeg_dest_init;
    c->dest.empty_output_buffer = i2i_jpeg_dest_empty;
    c->dest.term_destination = i2i_jpeg_dest_term;
    cinfo->dest = &c->dest;
    cinfo->image_width = width;
    cinfo->image_height = height;
    cinfo->input_components = (int)channels;
    cinfo->in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(cinfo);
    jpeg_set_quality(cinfo, q, TRUE);
    cinfo->optimize_coding = TRUE;
    if (subsampling444 && channels == 3) {
        for (int i = 0; i < cinfo->num_components; i++) {
            cinfo->comp_info[i].h_samp_factor = 1;
            cinfo->comp_info[i].v_samp_factor = 1;
        }
    }
    jpeg_start_compress(cinfo, TRUE);
    size_t stride = (size_t)width * channels;
    while (cinfo->next_scanline < cinfo->image_height) {
        JSAMPROW row = (JSAMPROW)(uintptr_t)(pixels + (size_t)cinfo->next_scanline * stride);
        jpeg_write_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_compress(cinfo);
    jpeg_destroy_compress(cinfo);
    *out = c->buf;
    *out_len = c->len;
    free(c);
    free(cinfo);
    return I2I_OK;
}
