package io.portcullis.core;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Reads a TLS ClientHello without terminating TLS, then leaves the pipeline: every byte it read flows on
 * unchanged (it never consumes), to be replayed to the backend. Event loop only.
 *
 * <p>By hand rather than Netty's {@code SslClientHelloHandler}: that one loses count of the bytes left when a
 * ClientHello spans records that arrive in pieces (it reads past the buffer and reports "no ClientHello"),
 * takes any unexpected input for "not TLS", and closes the channel itself on an oversized hello. Here each
 * call walks the records from the start (a hello has a handful), so no state is kept between reads, and
 * every way out is one {@link PeekEvent}.
 */
final class TlsPeek extends ByteToMessageDecoder {

    private static final int HANDSHAKE = 0x16;
    private static final int CLIENT_HELLO = 1;
    private static final int RECORD_HEADER = 5;
    /** RFC 8446 5.1: a plaintext record holds at most 2^14 bytes. */
    private static final int MAX_RECORD = 1 << 14;

    private final int maxBytes;
    private boolean done;

    TlsPeek(int maxBytes) {
        this.maxBytes = maxBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (done || !in.isReadable()) {
            return;
        }
        int at = in.readerIndex();
        int end = in.writerIndex();
        if (in.getUnsignedByte(at) != HANDSHAKE) {
            finish(ctx, PeekEvent.NOT_TLS);
            return;
        }
        int fragments = 0; // handshake bytes in the complete records so far
        int helloLength = -1;
        int firstRecordBody = -1;
        while (end - at >= RECORD_HEADER) {
            int type = in.getUnsignedByte(at);
            int major = in.getUnsignedByte(at + 1);
            int length = in.getUnsignedShort(at + 3);
            if (type != HANDSHAKE || major != 3) {
                finish(ctx, fragments == 0 && firstRecordBody < 0 ? PeekEvent.NOT_TLS
                        : rejected(PeekReject.MALFORMED_HELLO, "a record other than a handshake inside the ClientHello"));
                return;
            }
            if (length == 0 || length > MAX_RECORD) {
                finish(ctx, rejected(PeekReject.MALFORMED_HELLO, "a handshake record of " + length + " bytes"));
                return;
            }
            if (firstRecordBody < 0) {
                firstRecordBody = at + RECORD_HEADER;
            }
            int available = Math.min(length, end - at - RECORD_HEADER);
            if (helloLength < 0 && fragments + available >= 4) {
                // The handshake header: in the first record's body unless a client split it (allowed, and odd).
                int type0 = handshakeByte(in, firstRecordBody, 0);
                if (type0 != CLIENT_HELLO) {
                    finish(ctx, PeekEvent.NOT_TLS);
                    return;
                }
                helloLength = (handshakeByte(in, firstRecordBody, 1) << 16) | (handshakeByte(in, firstRecordBody, 2) << 8)
                        | handshakeByte(in, firstRecordBody, 3);
                if (helloLength > maxBytes) {
                    finish(ctx, rejected(PeekReject.TOO_LARGE, "ClientHello of " + helloLength + " bytes, more than "
                            + maxBytes));
                    return;
                }
            }
            if (available < length) {
                return; // the record is not complete yet
            }
            fragments += length;
            at += RECORD_HEADER + length;
            if (helloLength >= 0 && fragments >= 4 + helloLength) {
                finish(ctx, parse(ctx, in, firstRecordBody, helloLength));
                return;
            }
        }
    }

    /** Byte {@code i} of the handshake stream, which starts at {@code first} and may cross record headers. */
    private static int handshakeByte(ByteBuf in, int first, int i) {
        int at = first - RECORD_HEADER;
        int skip = i;
        while (true) {
            int length = in.getUnsignedShort(at + 3);
            if (skip < length) {
                return in.getUnsignedByte(at + RECORD_HEADER + skip);
            }
            skip -= length;
            at += RECORD_HEADER + length;
        }
    }

    /** Joins the handshake fragments and parses the ClientHello's body. */
    private static PeekEvent parse(ChannelHandlerContext ctx, ByteBuf in, int first, int helloLength) {
        ByteBuf body = ctx.alloc().buffer(helloLength);
        try {
            int at = first - RECORD_HEADER;
            int skip = 4; // the handshake header
            while (body.readableBytes() < helloLength) {
                int length = in.getUnsignedShort(at + 3);
                int from = Math.min(skip, length);
                skip -= from;
                int n = Math.min(length - from, helloLength - body.readableBytes());
                body.writeBytes(in, at + RECORD_HEADER + from, n);
                at += RECORD_HEADER + length;
            }
            return new PeekEvent.TlsPeeked(java.util.Optional.of(ClientHelloParser.parse(body)));
        } catch (MalformedClientHelloException e) {
            return rejected(PeekReject.MALFORMED_HELLO, e.getMessage());
        } finally {
            body.release();
        }
    }

    private static PeekEvent rejected(PeekReject reason, String detail) {
        return new PeekEvent.Rejected(reason, detail);
    }

    /** Tells the inspection, then leaves: the bytes read so far follow, unchanged (unless it is a reset). */
    private void finish(ChannelHandlerContext ctx, PeekEvent event) {
        done = true;
        ctx.fireUserEventTriggered(event);
        if (!(event instanceof PeekEvent.Rejected) && ctx.pipeline().context(this) != null) {
            ctx.pipeline().remove(this);
        }
    }
}
