package io.portcullis.gateway.cluster;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Messages between replicas signed with a key derived from the admin token (HMAC-SHA256): {@code MAC.payload},
 * the MAC base64url over the payload's exact characters. Redis carries the messages, and any client of that Redis
 * can publish; without the admin token it cannot make one that {@link #open} accepts, so it cannot complete
 * connections through another replica. The key is not the token itself but {@code HMAC(token, purpose)}: a MAC
 * never serves as a bearer token. Thread-safe.
 */
final class SignedMessages {

    /** Longer messages are refused before any work: ours are a few hundred characters. */
    static final int MAX_CHARS = 16 * 1024;
    private static final String ALGORITHM = "HmacSHA256";
    private static final String PURPOSE = "portcullis cluster pending relay v1";

    private final SecretKeySpec key;

    /** @param secret the admin token, shared by every replica */
    SignedMessages(String secret) {
        Objects.requireNonNull(secret, "secret");
        if (secret.isEmpty()) {
            throw new IllegalArgumentException("signing needs a secret");
        }
        this.key = new SecretKeySpec(mac(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), ALGORITHM),
                PURPOSE), ALGORITHM);
    }

    /** {@code payload} with its MAC in front. */
    String sign(String payload) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(mac(key, payload)) + "." + payload;
    }

    /** The payload of a message signed with the same secret; empty for anything else. */
    Optional<String> open(String message) {
        if (message == null || message.length() > MAX_CHARS) {
            return Optional.empty();
        }
        int dot = message.indexOf('.');
        if (dot <= 0) {
            return Optional.empty();
        }
        byte[] sent;
        try {
            sent = Base64.getUrlDecoder().decode(message.substring(0, dot));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        String payload = message.substring(dot + 1);
        return MessageDigest.isEqual(sent, mac(key, payload)) ? Optional.of(payload) : Optional.empty();
    }

    private static byte[] mac(SecretKeySpec key, String text) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            return mac.doFinal(text.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every Java platform has " + ALGORITHM, e);
        }
    }
}
