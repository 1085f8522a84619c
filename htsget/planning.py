"""From index chunks to the pieces of a ticket.

The index gives chunks ``[vbeg, vend)`` of virtual offsets per region. They are merged (each record
once, in file order) and clipped to the body (between the header's end and the EOF block). A chunk
rarely starts or ends on a block boundary, and a block may even start inside a record (files
written by ``bgzip`` or htsjdk): the untouched middle blocks are served as byte ranges of the file,
and the partial edge blocks are re-compressed into fresh BGZF blocks sent inline, so that the
concatenation of the pieces is always a valid stream.
"""

from tilesets.generators import hts


def merge_chunks(chunks):
    """Sort and merge chunks that overlap, touch or share a BGZF block: each record once, in file order."""
    merged = []
    for vbeg, vend in sorted(chunks):
        if vend <= vbeg:
            continue
        if merged and (vbeg <= merged[-1][1] or (vbeg >> 16) == (merged[-1][1] >> 16)):
            if vend > merged[-1][1]:
                merged[-1][1] = vend
        else:
            merged.append([vbeg, vend])
    return [tuple(chunk) for chunk in merged]


def clip_chunks(chunks, floor, ceiling):
    """Chunks cut to ``[floor, ceiling)``."""
    out = []
    for vbeg, vend in chunks:
        vbeg, vend = max(vbeg, floor), min(vend, ceiling)
        if vend > vbeg:
            out.append((vbeg, vend))
    return out


def body_spans(index, facts, ref_id, regions):
    """The merged chunks holding every record of ``regions`` (``[(name, start, end)]``; the name
    ``*`` asks for the unplaced reads), in file order; ``ref_id(name)`` is the index's id of a name."""
    header_end, data_end = facts["header_end"], facts["data_end"]
    chunks = []
    for name, start, end in regions:
        if name == "*":  # unplaced reads: after the last placed record, up to the EOF block
            chunks.append((max(header_end, index.placed_end), data_end))
        else:
            chunks.extend(index.chunks(ref_id(name), start, end))
    return clip_chunks(merge_chunks(chunks), header_end, data_end)


def plan_pieces(handle, spans, inline_max=1 << 20, compress_max=16 * 1024):
    """Pieces for the spans in order: ``("range", start, stop)`` (bytes of the file) or
    ``("inline", bgzf_bytes)`` (edge data in fresh BGZF blocks). Adjacent ranges are joined and
    consecutive edge data is packed together (at most ``inline_max`` bytes per piece). Pieces up to
    ``compress_max`` bytes are deflated (zlib level 1); larger ones are stored, which costs no CPU
    time when the ticket is made (deflating 64 KiB takes milliseconds, storing it microseconds)."""
    out = []
    pending = []

    def flush():
        if pending:
            data = b"".join(pending)
            out.append(("inline", hts.compress(data, level=1 if len(data) <= compress_max else 0)))
            pending.clear()

    for vbeg, vend in spans:
        for piece in hts.span_pieces(handle, vbeg, vend):
            if piece[0] == "data":
                if not piece[1]:
                    continue
                if sum(map(len, pending)) + len(piece[1]) > inline_max:
                    flush()
                pending.append(piece[1])
                continue
            flush()
            _, start, stop = piece
            if out and out[-1][0] == "range" and out[-1][2] == start:
                out[-1] = ("range", out[-1][1], stop)
            else:
                out.append(piece)
    flush()
    return out
