/**
 * The kernel's layouts of the two event rings, from the uapi headers (checked against
 * /usr/include/linux/{bpf,perf_event}.h by test/unit/events-abi.test.ts):
 *
 *  - BPF ring buffer (<linux/bpf.h>, kernel/bpf/ringbuf.c): a consumer page holding
 *    `unsigned long consumer_pos` at offset 0, a producer page holding `producer_pos` at
 *    offset 0, then the data pages mapped twice in a row so that a record that wraps is
 *    contiguous. Each record: a u32 length word (BUSY and DISCARD bits on top), a u32
 *    page offset, the data, padded to 8 bytes.
 *  - perf buffer (<linux/perf_event.h>): a `struct perf_event_mmap_page` then 2^n data
 *    pages mapped once; records are a `struct perf_event_header` then the body, 8-aligned.
 *
 * Plain numbers only: this module is pure.
 */

/** BPF_RINGBUF_BUSY_BIT: the record is reserved and not committed yet. */
export const BPF_RINGBUF_BUSY_BIT = 0x8000_0000;
/** BPF_RINGBUF_DISCARD_BIT: the record was reserved and then discarded: skip it. */
export const BPF_RINGBUF_DISCARD_BIT = 0x4000_0000;
/** BPF_RINGBUF_HDR_SZ: bytes of a record header (len word + pg_off). */
export const BPF_RINGBUF_HDR_SZ = 8;
/** Records (header + data) start on 8-byte boundaries (kernel/bpf/ringbuf.c: round_up(len + BPF_RINGBUF_HDR_SZ, 8)). */
export const RINGBUF_RECORD_ALIGN = 8;

/** struct perf_event_mmap_page: offsetof(data_head). */
export const PERF_MMAP_DATA_HEAD = 1024;
/** offsetof(data_tail): written by the reader to free space (the mapping must be writable). */
export const PERF_MMAP_DATA_TAIL = 1032;
/** offsetof(data_offset): where the data pages start in the mapping (Linux 4.1+). */
export const PERF_MMAP_DATA_OFFSET = 1040;
/** offsetof(data_size): size of the data area. */
export const PERF_MMAP_DATA_SIZE = 1048;

/** sizeof(struct perf_event_header): u32 type, u16 misc, u16 size. */
export const PERF_EVENT_HEADER_SIZE = 8;
/** offsetof(struct perf_event_header, size). */
export const PERF_EVENT_HEADER_SIZE_OFFSET = 6;
/** PERF_RECORD_LOST: { header; u64 id; u64 lost; }. */
export const PERF_RECORD_LOST = 2;
/** PERF_RECORD_SAMPLE: with sample_type PERF_SAMPLE_RAW alone, { header; u32 size; u8 data[size]; }. */
export const PERF_RECORD_SAMPLE = 9;
/** Offset of `lost` in a PERF_RECORD_LOST record (after the header and the u64 id). */
export const PERF_LOST_COUNT_OFFSET = 16;
/** Offset of the raw data in a PERF_SAMPLE_RAW sample (after the header and the u32 size). */
export const PERF_SAMPLE_RAW_DATA_OFFSET = 12;
