package io.portcullis.gateway.cluster;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Matches when {@code portcullis.cluster.redis.url} is set and not blank. Read as the configuration properties
 * are bound, not with a SpEL expression or {@code Environment.getProperty}: the URL may hold a password, and a
 * quote in it broke the expression, a placeholder with an unset variable failed {@code getProperty}, and both
 * printed the whole URL in the start error. Bound the same way, an unset placeholder stays as its text and the
 * properties' validation refuses it without showing the URL.
 */
public final class ClusterConfigured implements Condition {

    @Override
    public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
        return Binder.get(context.getEnvironment()).bind("portcullis.cluster.redis.url", String.class)
                .map(url -> !url.isBlank()).orElse(false);
    }
}
