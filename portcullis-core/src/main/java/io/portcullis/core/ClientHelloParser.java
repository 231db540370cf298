package io.portcullis.core;

import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.Optional;

/** Placeholder until the parser lands. */
final class ClientHelloParser {
    private ClientHelloParser() {
    }

    static TlsHello parse(ByteBuf body) {
        return new TlsHello(Optional.empty(), List.of(), List.of(), "t00i000000_000000000000_000000000000");
    }
}
