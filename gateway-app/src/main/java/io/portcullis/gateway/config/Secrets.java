package io.portcullis.gateway.config;

import java.util.Locale;
import java.util.regex.Pattern;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;

/** What an error message may show of a configuration value: never a credential. */
final class Secrets {

    /**
     * {@code scheme://user:password@}: from {@code ://} to the last {@code @} before a blank or a quote, so that a
     * password with an {@code @} or {@code /} of its own is covered too (at worst the host is hidden with it).
     */
    private static final Pattern USER_INFO = Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*://)[^\\s'\"]*@");

    private Secrets() {
    }

    /**
     * Whether the key's value is a credential as a whole: the admin token, a decision service's headers (they
     * carry its {@code Authorization}), and any key named like a password, token or secret.
     */
    static boolean isSecret(ConfigurationPropertyName name) {
        String key = name.toString().toLowerCase(Locale.ROOT);
        String last = name.getLastElement(ConfigurationPropertyName.Form.DASHED).toLowerCase(Locale.ROOT);
        return key.startsWith("portcullis.decision-services.") && key.contains(".headers")
                || last.endsWith("token") || last.endsWith("password") || last.endsWith("secret");
    }

    /**
     * A configuration value as an error may show it: nothing of a credential; a URL without what stands before
     * the last {@code @} (a password may hold blanks when the URL is not valid).
     */
    static String shown(ConfigurationPropertyName name, String value) {
        if (isSecret(name)) {
            return null;
        }
        int scheme = value.indexOf("://");
        int at = value.lastIndexOf('@');
        return scheme > 0 && at > scheme ? value.substring(0, scheme + 3) + "***" + value.substring(at) : value;
    }

    /** {@code text} with the user info of every URL in it replaced, so that a password in a URL is not shown. */
    static String withoutUserInfo(String text) {
        return text == null ? null : USER_INFO.matcher(text).replaceAll("$1***@");
    }
}
