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
 * Messages between replicas, and values they share, signed with a key derived from the admin token (HMAC-SHA256):
 * {@code MAC.payload}, the MAC base64url over the payload's exact characters. Redis carries them, and any client of
 * that Redis can write there; without the admin token it cannot make one that {@link #open} accepts, so it cannot
 * complete connections through another replica nor plant a verdict. The key is not the token itself but
 * {@code HMAC(token, purpose)}, one per purpose: a MAC never serves as a bearer token, and a message signed for one
 * purpose is refused for another. Thread-safe.
 */
public final class SignedMessages {

    /** Longer messages are refused before any work: ours are a few hundred characters. */
    static final int MAX_CHARS = 16 * 1024;
    private static final String ALGORITHM = "HmacSHA256";
    /** Operator commands relayed to the replica holding a pended connection. */
    static final String PENDING_RELAY = "portcullis cluster pending relay v1";

    private final SecretKeySpec key;

    /**
     * @param secret  the admin token, shared by every replica
     * @param purpose what the messages are for; each purpose has its own key
     */
    public SignedMessages(String secret, String purpose) {
        Objects.requireNonNull(secret, "secret");
        Objects.requireNonNull(purpose, "purpose");
        if (secret.isEmpty()) {
            throw new IllegalArgumentException("signing needs a secret");
        }
        this.key = new SecretKeySpec(mac(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), ALGORITHM),
                purpose), ALGORITHM);
    }

    /** {@code payload} with its MAC in front. */
    public String sign(String payload) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(mac(key, payload)) + "." + payload;
    }

    /** The payload of a message signed with the same secret for the same purpose; empty for anything else. */
    public Optional<String> open(String message) {
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
