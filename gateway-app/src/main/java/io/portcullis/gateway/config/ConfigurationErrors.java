package io.portcullis.gateway.config;

import io.portcullis.policy.yaml.Suggestions;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.DataObjectPropertyName;
import org.springframework.boot.context.properties.bind.UnboundConfigurationPropertiesException;
import org.springframework.boot.context.properties.bind.validation.BindValidationException;
import org.springframework.boot.context.properties.bind.validation.ValidationErrors;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.origin.Origin;
import org.springframework.boot.origin.OriginTrackedResource;
import org.springframework.boot.origin.PropertySourceOrigin;
import org.springframework.boot.origin.TextResourceOrigin;
import org.springframework.core.ResolvableType;
import org.springframework.core.io.ClassPathResource;
import org.springframework.core.io.Resource;
import org.springframework.validation.FieldError;
import org.springframework.validation.ObjectError;

/**
 * Spring's binding and validation failures of {@code application.yml} as one line per error, in the words of
 * the file: where ({@code /abs/application.yml:7:16}, or which other source), the key
 * ({@code portcullis.listeners[0].balance}), the value found and what was expected
 * ({@code round-robin, least-connections or source-hash}); an unknown key with the nearest known one.
 * Used for start failures and by {@code validate}, so both say the same.
 *
 * <p>A class-level check ({@code @AssertTrue}) is reported under the key its message starts with when that is
 * a key of the same object ({@code connect-timeout must be ...}), else under the object's key.
 */
public final class ConfigurationErrors {

    private ConfigurationErrors() {
    }

    /** The lines for a failure caused by binding configuration properties; empty for any other failure. */
    public static Optional<List<String>> of(Throwable failure) {
        BindException bind = find(failure, BindException.class);
        if (bind == null) {
            return Optional.empty();
        }
        Keys keys = new Keys(bind.getName(), bind.getTarget().getType());
        if (bind.getCause() instanceof BindValidationException validation) {
            return Optional.of(validation(validation.getValidationErrors(), keys));
        }
        if (bind.getCause() instanceof UnboundConfigurationPropertiesException unbound) {
            return Optional.of(unknown(unbound.getUnboundProperties(), keys));
        }
        return Optional.of(List.of(conversion(bind)));
    }

    private static String conversion(BindException bind) {
        ConfigurationProperty property = bind.getProperty();
        String key = property != null ? property.getName().toString() : bind.getName().toString();
        Class<?> type = bind.getTarget().getType().resolve(Object.class);
        String found = property != null ? found(property) + ", " : "";
        // A converter's message may quote the value: not for a credential.
        String why = property != null && Secrets.isSecret(property.getName()) ? "" : ": " + rootMessage(bind);
        String problem = expected(type).map(e -> found + "expected " + e)
                .orElseGet(() -> found + (found.isEmpty() ? "" : "which is ") + "not valid" + why);
        return line(property != null ? property.getOrigin() : bind.getOrigin(), key, problem);
    }

    private static String rootMessage(Throwable failure) {
        Throwable root = failure;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
    }

    /** What a value of {@code type} looks like in the file; empty when the converter's own message says it better. */
    static Optional<String> expected(Class<?> type) {
        if (type.isEnum()) {
            return Optional.of(alternatives(Arrays.stream(type.getEnumConstants())
                    .map(c -> ((Enum<?>) c).name().toLowerCase(Locale.ROOT).replace('_', '-')).toList()));
        }
        if (type == Duration.class) {
            return Optional.of("a duration such as 300ms, 5s, 10m, 1h or 1d");
        }
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
            return Optional.of("a whole number");
        }
        if (type == boolean.class || type == Boolean.class) {
            return Optional.of("true or false");
        }
        return Optional.empty();
    }

    private static List<String> validation(ValidationErrors errors, Keys keys) {
        Set<ConfigurationProperty> bound = errors.getBoundProperties();
        List<Found> found = new ArrayList<>();
        for (ObjectError error : errors.getAllErrors()) {
            String message = error.getDefaultMessage() == null ? "is not valid" : error.getDefaultMessage();
            ConfigurationPropertyName key = errors.getName();
            if (error instanceof FieldError field) {
                key = key.append(DataObjectPropertyName.toDashedForm(field.getField()));
                if ("AssertTrue".equals(field.getCode())) {
                    key = key.getParent();
                }
            }
            // A class-level check names the key it is about first: "connect-timeout must be ...".
            int space = message.indexOf(' ');
            if (space > 0 && (!(error instanceof FieldError field) || "AssertTrue".equals(field.getCode()))) {
                String first = message.substring(0, space);
                Optional<ConfigurationPropertyName> child = Optional.ofNullable(ConfigurationPropertyName.ofIfValid(first))
                        .map(key::append).filter(keys::isKnown);
                if (child.isPresent()) {
                    key = child.get();
                    message = message.substring(space + 1);
                }
            }
            ConfigurationPropertyName where = key;
            Optional<ConfigurationProperty> property = bound.stream().filter(p -> p.getName().equals(where)).findFirst();
            String problem;
            if ("NotNull".equals(error.getCode())) {
                problem = "missing; this key is required";
            } else if (property.isPresent()) {
                problem = found(property.get()) + ", which " + message;
            } else {
                problem = message;
            }
            Origin origin = property.map(ConfigurationProperty::getOrigin).orElseGet(() -> nearest(where, bound));
            // the key as the file spells it (decision-services.authz, not decision-services[authz])
            String shown = property.map(p -> p.getName().toString()).orElse(dotted(key));
            found.add(new Found(origin, shown, problem));
        }
        return sorted(found);
    }

    /** {@code a.b[0].c}: a map key as a file spells it ({@code decision-services.authz}, not {@code [authz]}). */
    private static String dotted(ConfigurationPropertyName key) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < key.getNumberOfElements(); i++) {
            String element = key.getElement(i, ConfigurationPropertyName.Form.ORIGINAL);
            if (key.isNumericIndex(i)) {
                text.append('[').append(element).append(']');
            } else {
                text.append(text.length() == 0 ? "" : ".").append(element);
            }
        }
        return text.toString();
    }

    /** An error at a place: sorted by file and line, so that the lines read like the file. */
    private record Found(Origin origin, String key, String problem) {
    }

    private static List<String> sorted(List<Found> found) {
        return found.stream()
                .sorted(Comparator.comparing((Found f) -> file(f.origin()).map(ConfigurationErrors::withoutPosition).orElse("\uffff"))
                        .thenComparingInt(f -> lineOf(f.origin())))
                .map(f -> line(f.origin(), f.key(), f.problem()))
                .toList();
    }

    private static String withoutPosition(String file) {
        return file.replaceFirst(":\\d+:\\d+$", "");
    }

    private static String found(ConfigurationProperty property) {
        String text = String.valueOf(property.getValue());
        if (text.isEmpty()) {
            return "found an empty value";
        }
        String shown = Secrets.shown(property.getName(), text);
        return shown == null ? "found a value (not shown: a credential)" : "found '" + shown + "'";
    }

    /** One line per unknown key, at the level it is unknown: a misspelt section is one line, not one per key in it. */
    private static List<String> unknown(Collection<ConfigurationProperty> unbound, Keys keys) {
        Map<ConfigurationPropertyName, List<ConfigurationProperty>> byKey = new LinkedHashMap<>();
        unbound.stream().sorted(Comparator.comparing(ConfigurationProperty::getName))
                .forEach(p -> byKey.computeIfAbsent(keys.unknownPart(p.getName()), k -> new ArrayList<>()).add(p));
        List<Found> found = new ArrayList<>();
        byKey.forEach((key, properties) -> {
            Origin origin = properties.stream().map(ConfigurationProperty::getOrigin)
                    .min(Comparator.comparingInt(ConfigurationErrors::lineOf)).orElse(null);
            if (keys.isKnown(key)) {
                // Spring binds list items [0], [1], ... in order and stops at a gap: what follows it is left over.
                found.add(new Found(origin, key.toString(), key.isLastElementIndexed()
                        ? "not used: list items must be numbered from [0] without gaps"
                        : "not used (the value above it did not take it)"));
                return;
            }
            List<String> known = keys.childrenOf(key.getParent());
            String last = key.getLastElement(ConfigurationPropertyName.Form.DASHED);
            String hint = Suggestions.nearest(last, known).map(near -> "; did you mean '" + near + "'?")
                    .orElseGet(() -> known.isEmpty() ? "" : " (known here: " + String.join(", ", known) + ")");
            found.add(new Found(origin, key.toString(), "unknown key" + hint));
        });
        return sorted(found);
    }

    /**
     * The origin of the first bound key under {@code key} or, failing that, under its nearest parent; never the
     * built-in defaults (a missing key is for the operator's own file to add).
     */
    private static Origin nearest(ConfigurationPropertyName key, Set<ConfigurationProperty> bound) {
        for (ConfigurationPropertyName at = key; !at.isEmpty(); at = at.getParent()) {
            ConfigurationPropertyName ancestor = at;
            Optional<Origin> origin = bound.stream().filter(p -> ancestor.isAncestorOf(p.getName()))
                    .map(ConfigurationProperty::getOrigin).filter(o -> o != null)
                    .filter(o -> !text(o).map(t -> isBuiltIn(t.getResource())).orElse(false))
                    .min(Comparator.comparingInt(ConfigurationErrors::lineOf));
            if (origin.isPresent()) {
                return origin.get();
            }
        }
        return null;
    }

    /** The defaults inside the jar (classpath:application.yml). */
    private static boolean isBuiltIn(Resource resource) {
        Resource inner = resource instanceof OriginTrackedResource tracked ? tracked.getResource() : resource;
        return inner instanceof ClassPathResource;
    }

    private static int lineOf(Origin origin) {
        return text(origin).filter(t -> t.getLocation() != null).map(t -> t.getLocation().getLine()).orElse(Integer.MAX_VALUE);
    }

    /** The place in a file behind an origin (a property source's origin wraps it). */
    private static Optional<TextResourceOrigin> text(Origin origin) {
        for (Origin at = origin; at != null; at = at.getParent()) {
            if (at instanceof TextResourceOrigin text && text.getResource() != null) {
                return Optional.of(text);
            }
            if (at instanceof PropertySourceOrigin source && source.getOrigin() != null && source.getOrigin() != at) {
                Optional<TextResourceOrigin> inner = text(source.getOrigin());
                if (inner.isPresent()) {
                    return inner;
                }
            }
        }
        return Optional.empty();
    }

    /**
     * {@code /abs/file.yml:7:16: key: problem}, or {@code key: problem (from the command line)}; the password of a
     * URL in the problem is not shown.
     */
    private static String line(Origin origin, String key, String shownProblem) {
        String problem = Secrets.withoutUserInfo(shownProblem);
        Optional<String> file = file(origin);
        if (file.isPresent()) {
            return file.get() + ": " + key + ": " + problem;
        }
        return key + ": " + problem + source(origin).map(s -> " (" + s + ")").orElse("");
    }

    private static Optional<String> file(Origin origin) {
        return text(origin).map(text -> {
            Resource resource = text.getResource();
            String name;
            try {
                name = resource.isFile() ? PolicySource.absolute(resource.getFile().toPath()).toString()
                        : resource.getDescription();
            } catch (IOException e) {
                name = resource.getDescription();
            }
            return name + (text.getLocation() != null ? ":" + text.getLocation() : "");
        });
    }

    private static Optional<String> source(Origin origin) {
        if (origin instanceof PropertySourceOrigin source) {
            return Optional.of(switch (source.getPropertySource().getName()) {
                case "commandLineArgs" -> "from the command line";
                case "systemProperties" -> "from the system property " + source.getPropertyName();
                default -> "from " + source;
            });
        }
        return Optional.ofNullable(origin).map(o -> "from " + o);
    }

    /** {@code a, b or c}. */
    static String alternatives(List<String> words) {
        if (words.size() < 2) {
            return String.join("", words);
        }
        return String.join(", ", words.subList(0, words.size() - 1)) + " or " + words.get(words.size() - 1);
    }

    private static <T extends Throwable> T find(Throwable failure, Class<T> type) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    /**
     * The keys a record-bound configuration knows, read from the record components of its type (lists and
     * maps step into their elements), for "did you mean" and for reporting class-level checks under a key.
     */
    static final class Keys {

        private final ConfigurationPropertyName root;
        private final ResolvableType rootType;

        Keys(ConfigurationPropertyName root, ResolvableType rootType) {
            this.root = root;
            this.rootType = rootType;
        }

        /** The type bound at {@code name}; empty when it is not a known key (or lies below a non-record type). */
        Optional<ResolvableType> typeOf(ConfigurationPropertyName name) {
            if (!root.equals(name) && !root.isAncestorOf(name)) {
                return Optional.empty();
            }
            ResolvableType type = rootType;
            for (int i = root.getNumberOfElements(); i < name.getNumberOfElements(); i++) {
                Optional<ResolvableType> next = child(type, name.getElement(i, ConfigurationPropertyName.Form.DASHED));
                if (next.isEmpty()) {
                    return Optional.empty();
                }
                type = next.get();
            }
            return Optional.of(type);
        }

        boolean isKnown(ConfigurationPropertyName name) {
            return typeOf(name).isPresent();
        }

        /**
         * Whether {@code name} goes where no key is: to a part that is none of its record's components, or below a
         * single value ({@code peek.tls.enabled}). Only a map's value may have more parts below it: a map's key may
         * hold dots ({@code headers: {"[x.trace.id]": ...}}).
         */
        boolean namesNoComponent(ConfigurationPropertyName name) {
            if (!root.isAncestorOf(name) || isKnown(name)) {
                return false;
            }
            ConfigurationPropertyName parent = unknownPart(name).getParent();
            boolean inRecord = typeOf(parent).map(t -> t.resolve(Object.class).isRecord()).orElse(false);
            boolean mapValue = !parent.equals(root) && typeOf(parent.getParent())
                    .map(t -> Map.class.isAssignableFrom(t.resolve(Object.class))).orElse(false);
            return inRecord || !mapValue;
        }

        /** The shortest part of {@code name} that is not a known key: the unknown key as the file spells it. */
        ConfigurationPropertyName unknownPart(ConfigurationPropertyName name) {
            for (int n = root.getNumberOfElements() + 1; n <= name.getNumberOfElements(); n++) {
                ConfigurationPropertyName part = name.chop(n);
                if (!isKnown(part)) {
                    return part;
                }
            }
            return name;
        }

        /** The keys a record at {@code name} has, in declaration order; empty for anything else. */
        List<String> childrenOf(ConfigurationPropertyName name) {
            return typeOf(name).map(t -> t.resolve(Object.class)).filter(Class::isRecord)
                    .map(c -> Stream.of(c.getRecordComponents()).map(rc -> DataObjectPropertyName.toDashedForm(rc.getName()))
                            .toList())
                    .orElse(List.of());
        }

        private static Optional<ResolvableType> child(ResolvableType type, String element) {
            Class<?> raw = type.resolve(Object.class);
            if (List.class.isAssignableFrom(raw) || Set.class.isAssignableFrom(raw)) {
                return Optional.of(type.asCollection().getGeneric(0));
            }
            if (Map.class.isAssignableFrom(raw)) {
                return Optional.of(type.asMap().getGeneric(1));
            }
            if (raw.isRecord()) {
                for (RecordComponent component : raw.getRecordComponents()) {
                    if (uniform(DataObjectPropertyName.toDashedForm(component.getName())).equals(uniform(element))) {
                        return Optional.of(ResolvableType.forType(component.getGenericType(), type));
                    }
                }
            }
            return Optional.empty();
        }

        /** As Spring compares key parts: letters and digits only, lower case ({@code conditionalAccept}, too). */
        private static String uniform(String element) {
            StringBuilder out = new StringBuilder(element.length());
            for (int i = 0; i < element.length(); i++) {
                char c = element.charAt(i);
                if (Character.isLetterOrDigit(c)) {
                    out.append(Character.toLowerCase(c));
                }
            }
            return out.toString();
        }
    }
}
