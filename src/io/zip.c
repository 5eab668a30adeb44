/* zip.c — a reader for the zip container that torch.save writes (see freqbias/torch_pt.h).
 *
 * A zip file is read from its end:
 *
 *   [local header 1][data 1] ... [local header n][data n]
 *   [central directory: one 46-byte header + name + extra + comment per entry]
 *   [zip64 end record + zip64 locator]   (only when a count/offset overflows,
 *                                          or the writer always adds them, as
 *                                          PyTorch's miniz writer does)
 *   [end of central directory: 22 bytes + comment]
 *
 * All integers are little-endian. The end record gives where the central
 * directory starts and how many entries it holds; each central header gives
 * an entry's method, CRC-32, sizes and the offset of its local header, whose
 * own name and extra lengths say where the data starts. A value of 0xFFFF /
 * 0xFFFFFFFF means "see the zip64 record / the zip64 extra field (id 1)".
 *
 * Nothing is trusted: every offset and length is checked against the file
 * before it is read, sizes must agree, encrypted entries are refused, and an
 * entry is only extracted up to the caller's cap, with deflate's 1032:1 best
 * ratio bounding what a compressed size can honestly inflate to.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "freqbias/torch_pt.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define END_SIZE 22
#define CENTRAL_SIZE 46
#define LOCAL_SIZE 30
#define MAX_COMMENT 65535
#define DEFLATE_MAX_RATIO 1032u

static uint16_t u16_at(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t u32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t u64_at(const uint8_t *p) { return u32_at(p) | (uint64_t)u32_at(p + 4) << 32; }

/* True when [offset, offset + length) lies inside a file of size bytes. */
static int inside(uint64_t offset, uint64_t length, size_t size)
{
    return offset <= size && length <= size - offset;
}

int fb_zip_magic(const uint8_t *head, size_t n)
{
    return n >= 4 && u32_at(head) == SIG_LOCAL;
}

/* The end-of-central-directory record: the last "PK\5\6" whose comment
 * length reaches exactly to the end of the file. */
static fb_status find_end_record(const fb_zip *zip, size_t *end_at)
{
    if (zip->size < END_SIZE)
        return fb_error(FB_ERR_FORMAT, "%s: %zu bytes, too short for a zip archive", zip->label,
                        zip->size);
    size_t lowest = zip->size - END_SIZE > MAX_COMMENT ? zip->size - END_SIZE - MAX_COMMENT : 0;
    for (size_t at = zip->size - END_SIZE + 1; at-- > lowest;)
        if (u32_at(zip->bytes + at) == SIG_END &&
            at + END_SIZE + u16_at(zip->bytes + at + 20) == zip->size) {
            *end_at = at;
            return FB_OK;
        }
    return fb_error(FB_ERR_FORMAT, "%s: no zip end-of-central-directory record (truncated file?)",
                    zip->label);
}

/* Entry count and central-directory position, from the zip64 record when
 * the classic one says so (or when a locator precedes it). */
static fb_status read_directory_extent(const fb_zip *zip, size_t end_at, uint64_t *count,
                                       uint64_t *dir_offset, uint64_t *dir_size)
{
    const uint8_t *end = zip->bytes + end_at;
    if (u16_at(end + 4) != 0 || u16_at(end + 6) != 0 || u16_at(end + 8) != u16_at(end + 10))
        return fb_error(FB_ERR_FORMAT, "%s: multi-disk zip archives are not supported", zip->label);
    *count = u16_at(end + 10);
    *dir_size = u32_at(end + 12);
    *dir_offset = u32_at(end + 16);
    if (end_at < 20 || u32_at(end - 20) != SIG_LOCATOR64) {
        if (*count == 0xFFFF || *dir_size == 0xFFFFFFFFu || *dir_offset == 0xFFFFFFFFu)
            return fb_error(FB_ERR_FORMAT, "%s: zip64 values without a zip64 locator", zip->label);
        return FB_OK;
    }
    uint64_t record = u64_at(end - 20 + 8);
    if (!inside(record, 56, end_at - 20) || u32_at(zip->bytes + record) != SIG_END64)
        return fb_error(FB_ERR_FORMAT, "%s: the zip64 locator points outside the file (offset %llu)",
                        zip->label, (unsigned long long)record);
    const uint8_t *r = zip->bytes + record;
    if (u32_at(r + 16) != 0 || u32_at(r + 20) != 0 || u64_at(r + 24) != u64_at(r + 32))
        return fb_error(FB_ERR_FORMAT, "%s: multi-disk zip64 archives are not supported", zip->label);
    *count = u64_at(r + 32);
    *dir_size = u64_at(r + 40);
    *dir_offset = u64_at(r + 48);
    return FB_OK;
}

/* Replaces 0xFFFFFFFF sizes/offset by the zip64 extra field's values
 * (present in that order, only for the fields that overflowed). */
static fb_status apply_zip64_extra(const fb_zip *zip, const uint8_t *extra, size_t extra_len,
                                   uint64_t *size, uint64_t *compressed, uint64_t *local)
{
    uint64_t *fields[3] = {size, compressed, local};
    size_t at = 0;
    while (at + 4 <= extra_len) {
        uint16_t id = u16_at(extra + at), len = u16_at(extra + at + 2);
        if (len > extra_len - at - 4)
            return fb_error(FB_ERR_FORMAT, "%s: a zip extra field runs past its header", zip->label);
        if (id == 1) {
            size_t used = 0;
            for (int f = 0; f < 3; f++)
                if (*fields[f] == 0xFFFFFFFFu) {
                    if (used + 8 > len)
                        return fb_error(FB_ERR_FORMAT, "%s: zip64 extra field too short", zip->label);
                    *fields[f] = u64_at(extra + at + 4 + used);
                    used += 8;
                }
            return FB_OK;
        }
        at += 4 + (size_t)len;
    }
    if (*size == 0xFFFFFFFFu || *compressed == 0xFFFFFFFFu || *local == 0xFFFFFFFFu)
        return fb_error(FB_ERR_FORMAT, "%s: zip64 sizes without a zip64 extra field", zip->label);
    return FB_OK;
}

/* One central-directory header at *at: fills the entry and advances *at. */
static fb_status read_central_header(const fb_zip *zip, uint64_t dir_end, uint64_t *at,
                                     fb_zip_entry *entry)
{
    if (!inside(*at, CENTRAL_SIZE, (size_t)dir_end) || u32_at(zip->bytes + *at) != SIG_CENTRAL)
        return fb_error(FB_ERR_FORMAT, "%s: broken zip central directory at byte %llu", zip->label,
                        (unsigned long long)*at);
    const uint8_t *h = zip->bytes + *at;
    size_t name_len = u16_at(h + 28), extra_len = u16_at(h + 30), comment_len = u16_at(h + 32);
    if (!inside(*at + CENTRAL_SIZE, name_len + extra_len + comment_len, (size_t)dir_end))
        return fb_error(FB_ERR_FORMAT, "%s: zip central header at byte %llu runs past the directory",
                        zip->label, (unsigned long long)*at);
    if (u16_at(h + 8) & 1)
        return fb_error(FB_ERR_FORMAT, "%s: encrypted zip entries are not supported", zip->label);
    entry->method = u16_at(h + 10);
    entry->crc32 = u32_at(h + 16);
    entry->compressed_size = u32_at(h + 20);
    entry->size = u32_at(h + 24);
    uint64_t local = u32_at(h + 42);
    FB_TRY(apply_zip64_extra(zip, h + CENTRAL_SIZE + name_len, extra_len, &entry->size,
                             &entry->compressed_size, &local));
    entry->name = malloc(name_len + 1);
    if (!entry->name)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", zip->label);
    memcpy(entry->name, h + CENTRAL_SIZE, name_len);
    entry->name[name_len] = '\0';
    if (strlen(entry->name) != name_len)
        return fb_error(FB_ERR_FORMAT, "%s: a zip entry name holds a NUL byte", zip->label);
    if (entry->method != 0 && entry->method != 8)
        return fb_error(FB_ERR_FORMAT, "%s: entry '%s' uses zip method %d (only stored and deflated are supported)",
                        zip->label, entry->name, entry->method);
    if (!inside(local, LOCAL_SIZE, zip->size) || u32_at(zip->bytes + local) != SIG_LOCAL)
        return fb_error(FB_ERR_FORMAT, "%s: entry '%s': no local header at byte %llu", zip->label,
                        entry->name, (unsigned long long)local);
    const uint8_t *l = zip->bytes + local;
    entry->data_offset = local + LOCAL_SIZE + u16_at(l + 26) + u16_at(l + 28);
    if (!inside(entry->data_offset, entry->compressed_size, zip->size))
        return fb_error(FB_ERR_FORMAT, "%s: entry '%s': %llu bytes at byte %llu run past the end of the file",
                        zip->label, entry->name, (unsigned long long)entry->compressed_size,
                        (unsigned long long)entry->data_offset);
    if (entry->method == 0 && entry->compressed_size != entry->size)
        return fb_error(FB_ERR_FORMAT, "%s: stored entry '%s' claims %llu bytes but holds %llu",
                        zip->label, entry->name, (unsigned long long)entry->size,
                        (unsigned long long)entry->compressed_size);
    *at += CENTRAL_SIZE + name_len + extra_len + comment_len;
    return FB_OK;
}

fb_status fb_zip_open(fb_zip *zip, const uint8_t *bytes, size_t size, const char *label)
{
    memset(zip, 0, sizeof *zip);
    zip->bytes = bytes;
    zip->size = size;
    zip->label = label;
    size_t end_at = 0;
    uint64_t count = 0, dir_offset = 0, dir_size = 0;
    FB_TRY(find_end_record(zip, &end_at));
    FB_TRY(read_directory_extent(zip, end_at, &count, &dir_offset, &dir_size));
    if (!inside(dir_offset, dir_size, end_at))
        return fb_error(FB_ERR_FORMAT, "%s: the zip central directory (%llu bytes at %llu) lies outside the file",
                        label, (unsigned long long)dir_size, (unsigned long long)dir_offset);
    if (count > dir_size / CENTRAL_SIZE)
        return fb_error(FB_ERR_FORMAT, "%s: %llu zip entries cannot fit a %llu-byte directory", label,
                        (unsigned long long)count, (unsigned long long)dir_size);
    zip->entries = calloc(count ? (size_t)count : 1, sizeof *zip->entries);
    if (!zip->entries)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", label);
    uint64_t at = dir_offset;
    for (uint64_t i = 0; i < count; i++) {
        zip->count = (int)i + 1; /* so fb_zip_close frees a half-read entry */
        fb_status status = read_central_header(zip, dir_offset + dir_size, &at, &zip->entries[i]);
        if (status != FB_OK) {
            fb_zip_close(zip);
            return status;
        }
    }
    return FB_OK;
}

const fb_zip_entry *fb_zip_find(const fb_zip *zip, const char *name)
{
    for (int i = 0; i < zip->count; i++)
        if (strcmp(zip->entries[i].name, name) == 0)
            return &zip->entries[i];
    return NULL;
}

/* Raw-deflate inflation of exactly entry->size bytes into out. */
static fb_status inflate_entry(const fb_zip *zip, const fb_zip_entry *entry, uint8_t *out)
{
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    if (inflateInit2(&stream, -MAX_WBITS) != Z_OK)
        return fb_error(FB_ERR_NOMEM, "%s: zlib inflateInit2 failed", zip->label);
    const uint8_t *in = zip->bytes + entry->data_offset;
    uint64_t in_left = entry->compressed_size;
    uint64_t out_done = 0;
    int result = Z_OK;
    /* feed and drain in chunks that fit zlib's 32-bit counters */
    while (result == Z_OK) {
        uInt in_chunk = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
        uint64_t out_room = entry->size - out_done;
        stream.next_in = (Bytef *)(uintptr_t)in;
        stream.avail_in = in_chunk;
        stream.next_out = out + out_done;
        stream.avail_out = out_room > (1u << 30) ? (1u << 30) : (uInt)out_room;
        uInt out_before = stream.avail_out;
        result = inflate(&stream, Z_NO_FLUSH);
        in += in_chunk - stream.avail_in;
        in_left -= in_chunk - stream.avail_in;
        out_done += out_before - stream.avail_out;
        if (result == Z_OK && out_before == stream.avail_out && in_chunk == stream.avail_in)
            break; /* no progress: input ended early or output is full */
    }
    inflateEnd(&stream);
    if (result != Z_STREAM_END || out_done != entry->size)
        return fb_error(FB_ERR_FORMAT, "%s: entry '%s' does not inflate to its stated %llu bytes (zlib: %s)",
                        zip->label, entry->name, (unsigned long long)entry->size,
                        result == Z_STREAM_END ? "wrong length" : result == Z_OK ? "ends early or runs long"
                                                                                 : "corrupt data");
    return FB_OK;
}

fb_status fb_zip_extract(const fb_zip *zip, const fb_zip_entry *entry, size_t max_size,
                         uint8_t **out, size_t *out_size)
{
    *out = NULL;
    *out_size = 0;
    if (entry->size > max_size)
        return fb_error(FB_ERR_FORMAT, "%s: entry '%s' is %llu bytes, over the %zu-byte limit", zip->label,
                        entry->name, (unsigned long long)entry->size, max_size);
    if (entry->method == 8 && entry->size / DEFLATE_MAX_RATIO > entry->compressed_size + 1)
        return fb_error(FB_ERR_FORMAT, "%s: entry '%s' claims %llu bytes from %llu compressed (a deflate bomb?)",
                        zip->label, entry->name, (unsigned long long)entry->size,
                        (unsigned long long)entry->compressed_size);
    uint8_t *data = malloc(entry->size ? (size_t)entry->size : 1); /* [size] */
    if (!data)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory for entry '%s'", zip->label, entry->name);
    if (entry->method == 0) {
        memcpy(data, zip->bytes + entry->data_offset, (size_t)entry->size);
    } else {
        fb_status status = inflate_entry(zip, entry, data);
        if (status != FB_OK) {
            free(data);
            return status;
        }
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    for (uint64_t done = 0; done < entry->size;) {
        uInt chunk = entry->size - done > (1u << 30) ? (1u << 30) : (uInt)(entry->size - done);
        crc = crc32(crc, data + done, chunk);
        done += chunk;
    }
    if ((uint32_t)crc != entry->crc32) {
        free(data);
        return fb_error(FB_ERR_FORMAT, "%s: entry '%s' fails its CRC-32 check (corrupt file)", zip->label,
                        entry->name);
    }
    *out = data;
    *out_size = (size_t)entry->size;
    return FB_OK;
}

void fb_zip_close(fb_zip *zip)
{
    for (int i = 0; i < zip->count; i++)
        free(zip->entries[i].name);
    free(zip->entries);
    memset(zip, 0, sizeof *zip);
}
