package io.portcullis.gateway.cluster;

import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Matches when {@code portcullis.cluster.redis.url} is set and not blank. A plain condition, not a SpEL expression:
 * the URL may hold a password with a quote, which would break the expression and print the URL in the error.
 */
public final class ClusterConfigured implements Condition {

    @Override
    public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
        String url = context.getEnvironment().getProperty("portcullis.cluster.redis.url");
        return url != null && !url.isBlank();
    }
}
