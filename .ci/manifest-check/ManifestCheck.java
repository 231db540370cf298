/*
 * Offline check of rendered Kubernetes manifests (helm template output) against the Kubernetes API types,
 * without a cluster: every document is read into fabric8's model class for its apiVersion and kind, with
 * Jackson made as strict as the API server:
 *   - an unknown field anywhere fails (fabric8 keeps unknown fields in an additionalProperties map instead
 *     of failing, so every object of the result is walked and any non-empty map is an error),
 *   - no coercion: a string where an integer or boolean belongs fails, and so does a number or boolean
 *     where a string belongs (labels, annotations, env values, ConfigMap data),
 *   - duplicate keys fail, an unknown apiVersion/kind fails (e.g. policy/v1beta1).
 * Then references inside one rendering are checked (selectors match pod labels, named ports exist and are
 * valid IANA service names, volumes and mounts, HPA target), and with --chart-policy the chart's
 * security and operational promises (non-root, read-only root, no privilege escalation, capabilities
 * dropped, seccomp RuntimeDefault, emptyDir /tmp, rules mounted without subPath, probes, memory limit,
 * admin token and Redis credentials from a Secret, checksum on application.yml only, no fixed -Xmx, the admin API
 * on a port of its own that only an admin Service exposes, and on the pod's loopback without one, every ${VAR}
 * of application.yml set in the container, the cluster's replica id from the pod's name). References also cover
 * HPA metrics (Pods metrics as AverageValue, a resource request for a Utilization target) and a PDB whose
 * minAvailable would let no pod of the Deployment's fewest go.
 *
 * Usage: java -cp "$(cat classpath.txt)" ManifestCheck.java [--chart-policy] [--self-test] FILE...
 * The class path comes from .ci/manifest-check/pom.xml (mvn dependency:build-classpath). Run by
 * .ci/deploy-checks.sh. Prints "manifest-check: N passed, M failed"; exit status 1 when anything failed.
 */

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.introspect.AnnotatedMember;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

public final class ManifestCheck {

    /** The API types the chart may render; anything else is an error (a typo, or a removed API version). */
    static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of(
            "v1/ConfigMap", ConfigMap.class,
            "v1/Secret", Secret.class,
            "v1/Service", Service.class,
            "v1/ServiceAccount", ServiceAccount.class,
            "apps/v1/Deployment", Deployment.class,
            "policy/v1/PodDisruptionBudget", PodDisruptionBudget.class,
            "autoscaling/v2/HorizontalPodAutoscaler", HorizontalPodAutoscaler.class,
            "monitoring.coreos.com/v1/ServiceMonitor", ServiceMonitor.class,
            "monitoring.coreos.com/v1/PrometheusRule", PrometheusRule.class);

    static final Pattern DNS1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    static final Pattern DNS1123_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    static final Pattern DNS1035_LABEL = Pattern.compile("[a-z]([-a-z0-9]*[a-z0-9])?");
    static final Pattern IANA_SVC_NAME = Pattern.compile("[a-z0-9]([a-z0-9-]*[a-z0-9])?");
    static final Pattern LABEL_VALUE = Pattern.compile("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");
    static final Pattern LABEL_NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");
    static final Pattern CONFIG_KEY = Pattern.compile("[-._a-zA-Z0-9]+");

    final ObjectMapper mapper = strictMapper();
    final boolean chartPolicy;
    int passed;
    int failed;

    ManifestCheck(boolean chartPolicy) {
        this.chartPolicy = chartPolicy;
    }

    public static void main(String[] args) throws IOException {
        boolean policy = false;
        boolean selfTest = false;
        List<Path> files = new ArrayList<>();
        for (String a : args) {
            switch (a) {
                case "--chart-policy" -> policy = true;
                case "--self-test" -> selfTest = true;
                default -> files.add(Path.of(a));
            }
        }
        if (files.isEmpty() && !selfTest) {
            System.err.println("usage: ManifestCheck [--chart-policy] [--self-test] RENDERED.yaml...");
            System.exit(2);
        }
        ManifestCheck check = new ManifestCheck(policy);
        if (selfTest) {
            check.selfTest();
        }
        for (Path f : files) {
            check.checkFile(f.toString(), Files.readString(f));
        }
        System.out.println();
        System.out.println("manifest-check: " + check.passed + " passed, " + check.failed + " failed");
        System.exit(check.failed == 0 ? 0 : 1);
    }

    static ObjectMapper strictMapper() {
        YAMLFactory yaml = YAMLFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
        YAMLMapper m = YAMLMapper.builder(yaml)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
                .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .build();
        for (LogicalType t : List.of(LogicalType.Integer, LogicalType.Float, LogicalType.Boolean)) {
            m.coercionConfigFor(t).setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail);
        }
        m.coercionConfigFor(LogicalType.Textual)
                .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
        return m;
    }

    // ---------------------------------------------------------------------------------------------------

    /** One rendering: its documents are checked one by one, then against each other. */
    void checkFile(String name, String text) {
        System.out.println("== " + name);
        List<HasMetadata> objects = new ArrayList<>();
        int index = 0;
        for (String doc : text.split("(?m)^---\\s*$")) {
            if (doc.lines().allMatch(l -> l.isBlank() || l.stripLeading().startsWith("#"))) {
                continue;
            }
            index++;
            String where = name + " document " + index + sourceOf(doc);
            List<String> errors = new ArrayList<>();
            HasMetadata object = read(doc, errors);
            if (object != null) {
                where = name + " " + object.getKind() + "/" + object.getMetadata().getName() + sourceOf(doc);
                checkMetadata(object, errors);
                objects.add(object);
            }
            report(where, errors);
        }
        if (objects.isEmpty()) {
            report(name, List.of("no Kubernetes object in it"));
            return;
        }
        report(name + " references between objects", references(objects));
        if (chartPolicy) {
            for (Deployment d : ofKind(objects, Deployment.class)) {
                report(name + " chart policy of Deployment/" + d.getMetadata().getName(), chartPolicy(d, objects));
            }
        }
    }

    static String sourceOf(String doc) {
        return doc.lines().filter(l -> l.startsWith("# Source: ")).findFirst()
                .map(l -> " (" + l.substring("# Source: ".length()).strip() + ")").orElse("");
    }

    void report(String what, List<String> errors) {
        if (errors.isEmpty()) {
            passed++;
            System.out.println("ok   " + what);
        } else {
            failed++;
            System.out.println("FAIL " + what);
            errors.forEach(e -> System.out.println("       " + e));
        }
    }

    HasMetadata read(String doc, List<String> errors) {
        JsonNode tree;
        try {
            tree = mapper.readTree(doc);
        } catch (IOException e) {
            errors.add("not valid YAML: " + firstLine(e));
            return null;
        }
        if (tree == null || !tree.isObject()) {
            errors.add("not a YAML mapping");
            return null;
        }
        String apiVersion = tree.path("apiVersion").asText("");
        String kind = tree.path("kind").asText("");
        Class<? extends HasMetadata> type = KINDS.get(apiVersion + "/" + kind);
        if (type == null) {
            errors.add("unknown apiVersion/kind '" + apiVersion + "/" + kind + "' (known: " + String.join(", ", KINDS.keySet()) + ")");
            return null;
        }
        HasMetadata object;
        try {
            object = mapper.treeToValue(tree, type);
        } catch (IOException e) {
            errors.add("does not match " + type.getSimpleName() + ": " + firstLine(e));
            return null;
        }
        unknownFields(object, "", errors, new IdentityHashMap<>());
        if (object.getMetadata() == null || object.getMetadata().getName() == null) {
            errors.add("metadata.name is missing");
            return null;
        }
        return object;
    }

    static String firstLine(Exception e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl) + m.substring(m.indexOf("(through reference chain") >= 0
                ? m.indexOf("(through reference chain") - 1 : m.length()).replace('\n', ' ');
    }

    /**
     * Walks the object through Jackson's own view of its properties; a non-empty additionalProperties map
     * (fabric8's @JsonAnySetter) holds fields the type does not have.
     */
    void unknownFields(Object value, String path, List<String> errors, IdentityHashMap<Object, Boolean> seen) {
        if (value == null || value instanceof String || value instanceof Number || value instanceof Boolean
                || value instanceof Enum<?> || value instanceof IntOrString || seen.put(value, true) != null) {
            return;
        }
        if (value instanceof Collection<?> c) {
            int i = 0;
            for (Object item : c) {
                unknownFields(item, path + "[" + i++ + "]", errors, seen);
            }
            return;
        }
        if (value instanceof Map<?, ?> map) {
            map.forEach((k, v) -> unknownFields(v, path + "[" + k + "]", errors, seen));
            return;
        }
        if (!value.getClass().getName().startsWith("io.fabric8.")) {
            return;
        }
        try {
            Method extra = value.getClass().getMethod("getAdditionalProperties");
            Object map = extra.invoke(value);
            if (map instanceof Map<?, ?> m && !m.isEmpty()) {
                for (Object key : m.keySet()) {
                    errors.add("unknown field '" + (path.isEmpty() ? "" : path + ".") + key + "' ("
                            + value.getClass().getSimpleName() + " has no such field)");
                }
            }
        } catch (NoSuchMethodException e) {
            // not a model class with extras
        } catch (ReflectiveOperationException e) {
            errors.add("cannot inspect " + path + ": " + e);
        }
        BeanDescription bean = mapper.getSerializationConfig().introspect(mapper.constructType(value.getClass()));
        for (BeanPropertyDefinition p : bean.findProperties()) {
            AnnotatedMember getter = p.getAccessor();
            if (getter == null) {
                continue;
            }
            Object child;
            try {
                child = getter.getValue(value);
            } catch (RuntimeException e) {
                continue;
            }
            unknownFields(child, path.isEmpty() ? p.getName() : path + "." + p.getName(), errors, seen);
        }
    }

    void checkMetadata(HasMetadata o, List<String> errors) {
        String name = o.getMetadata().getName();
        boolean label = o instanceof Service;
        if (label ? !(name.length() <= 63 && DNS1035_LABEL.matcher(name).matches())
                : !(name.length() <= 253 && DNS1123_SUBDOMAIN.matcher(name).matches())) {
            errors.add("metadata.name '" + name + "' is not a valid " + (label ? "DNS-1035 label" : "DNS-1123 subdomain"));
        }
        if (o.getMetadata().getNamespace() != null && !DNS1123_LABEL.matcher(o.getMetadata().getNamespace()).matches()) {
            errors.add("metadata.namespace '" + o.getMetadata().getNamespace() + "' is not a valid namespace name");
        }
        labels("metadata.labels", o.getMetadata().getLabels(), errors);
        annotations("metadata.annotations", o.getMetadata().getAnnotations(), errors);
        if (o instanceof ConfigMap cm) {
            keys("data", cm.getData(), errors);
        }
        if (o instanceof Secret s) {
            keys("data", s.getData(), errors);
            keys("stringData", s.getStringData(), errors);
            if (s.getData() != null) {
                s.getData().forEach((k, v) -> {
                    try {
                        java.util.Base64.getDecoder().decode(v);
                    } catch (IllegalArgumentException e) {
                        errors.add("data." + k + " is not base64");
                    }
                });
            }
        }
        if (o instanceof Deployment d && d.getSpec() != null && d.getSpec().getTemplate() != null
                && d.getSpec().getTemplate().getMetadata() != null) {
            labels("spec.template.metadata.labels", d.getSpec().getTemplate().getMetadata().getLabels(), errors);
            annotations("spec.template.metadata.annotations", d.getSpec().getTemplate().getMetadata().getAnnotations(), errors);
        }
    }

    static void labels(String where, Map<String, String> labels, List<String> errors) {
        if (labels == null) {
            return;
        }
        labels.forEach((k, v) -> {
            if (!qualifiedName(k)) {
                errors.add(where + ": invalid label key '" + k + "'");
            }
            if (v == null || v.length() > 63 || !LABEL_VALUE.matcher(v).matches()) {
                errors.add(where + ": invalid value of label '" + k + "': '" + v + "' (at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends)");
            }
        });
    }

    static void annotations(String where, Map<String, String> annotations, List<String> errors) {
        if (annotations != null) {
            annotations.forEach((k, v) -> {
                if (!qualifiedName(k)) {
                    errors.add(where + ": invalid annotation key '" + k + "'");
                }
            });
        }
    }

    static boolean qualifiedName(String key) {
        int slash = key.indexOf('/');
        String prefix = slash < 0 ? null : key.substring(0, slash);
        String name = slash < 0 ? key : key.substring(slash + 1);
        return (prefix == null || (prefix.length() <= 253 && DNS1123_SUBDOMAIN.matcher(prefix).matches()))
                && name.length() <= 63 && LABEL_NAME.matcher(name).matches();
    }

    static void keys(String where, Map<String, String> data, List<String> errors) {
        if (data != null) {
            data.keySet().stream().filter(k -> !CONFIG_KEY.matcher(k).matches())
                    .forEach(k -> errors.add(where + ": invalid key '" + k + "'"));
        }
    }

    // ---------------------------------------------------------------------------------------------------

    static <T> List<T> ofKind(List<HasMetadata> objects, Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    static boolean selects(Map<String, String> selector, Map<String, String> labels) {
        return selector != null && !selector.isEmpty() && labels != null
                && selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    }

    static Map<String, String> podLabels(Deployment d) {
        return d.getSpec().getTemplate().getMetadata() == null ? Map.of()
                : Objects.requireNonNullElse(d.getSpec().getTemplate().getMetadata().getLabels(), Map.of());
    }

    static boolean validPortName(String name) {
        return name.length() <= 15 && IANA_SVC_NAME.matcher(name).matches() && !name.contains("--")
                && name.chars().anyMatch(Character::isLetter);
    }

    /** What an API server or controller would refuse or silently get wrong across the objects of one rendering. */
    List<String> references(List<HasMetadata> objects) {
        List<String> errors = new ArrayList<>();
        Set<String> configMaps = new java.util.HashSet<>();
        Set<String> secrets = new java.util.HashSet<>();
        Set<String> accounts = new java.util.HashSet<>();
        Map<String, Integer> seen = new LinkedHashMap<>();
        for (HasMetadata o : objects) {
            String key = o.getKind() + "/" + o.getMetadata().getNamespace() + "/" + o.getMetadata().getName();
            if (seen.merge(key, 1, Integer::sum) == 2) {
                errors.add("two objects are " + key);
            }
            if (o instanceof ConfigMap) configMaps.add(o.getMetadata().getName());
            if (o instanceof Secret) secrets.add(o.getMetadata().getName());
            if (o instanceof ServiceAccount) accounts.add(o.getMetadata().getName());
        }
        List<Deployment> deployments = ofKind(objects, Deployment.class);
        for (Deployment d : deployments) {
            String at = "Deployment/" + d.getMetadata().getName();
            if (d.getSpec().getSelector() == null || !selects(d.getSpec().getSelector().getMatchLabels(), podLabels(d))) {
                errors.add(at + ": spec.selector does not match the pod template's labels");
            }
            PodSpec pod = d.getSpec().getTemplate().getSpec();
            String sa = pod.getServiceAccountName();
            if (sa != null && !sa.equals("default") && !accounts.contains(sa)) {
                System.out.println("       note: " + at + " uses ServiceAccount '" + sa + "' that is not rendered here");
            }
            Set<String> volumes = new java.util.HashSet<>();
            for (Volume v : Optional.ofNullable(pod.getVolumes()).orElse(List.of())) {
                if (!volumes.add(v.getName())) {
                    errors.add(at + ": volume '" + v.getName() + "' twice");
                }
                if (v.getConfigMap() != null && !configMaps.contains(v.getConfigMap().getName())) {
                    System.out.println("       note: " + at + " mounts ConfigMap '" + v.getConfigMap().getName() + "' that is not rendered here (an existing one)");
                }
            }
            for (Container c : pod.getContainers()) {
                Set<String> portNames = new java.util.HashSet<>();
                for (ContainerPort p : Optional.ofNullable(c.getPorts()).orElse(List.of())) {
                    if (p.getName() != null && (!validPortName(p.getName()) || !portNames.add(p.getName()))) {
                        errors.add(at + ": container port name '" + p.getName() + "' is invalid or repeated (IANA service name, at most 15 characters)");
                    }
                    if (p.getContainerPort() == null || p.getContainerPort() < 1 || p.getContainerPort() > 65535) {
                        errors.add(at + ": containerPort " + p.getContainerPort() + " out of range");
                    }
                }
                for (Probe probe : java.util.Arrays.asList(c.getStartupProbe(), c.getLivenessProbe(), c.getReadinessProbe())) {
                    if (probe != null && probe.getHttpGet() != null) {
                        IntOrString port = probe.getHttpGet().getPort();
                        if (port.getStrVal() != null && !portNames.contains(port.getStrVal())) {
                            errors.add(at + ": probe port '" + port.getStrVal() + "' is no container port name");
                        }
                    }
                }
                for (VolumeMount m : Optional.ofNullable(c.getVolumeMounts()).orElse(List.of())) {
                    if (!volumes.contains(m.getName())) {
                        errors.add(at + ": volumeMount '" + m.getName() + "' names no volume");
                    }
                }
                for (EnvVar e : Optional.ofNullable(c.getEnv()).orElse(List.of())) {
                    if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null
                            && !secrets.contains(e.getValueFrom().getSecretKeyRef().getName())) {
                        System.out.println("       note: " + at + " env " + e.getName() + " reads Secret '"
                                + e.getValueFrom().getSecretKeyRef().getName() + "' that is not rendered here (an existing one)");
                    }
                }
            }
        }
        for (Service s : ofKind(objects, Service.class)) {
            String at = "Service/" + s.getMetadata().getName();
            List<Deployment> targets = deployments.stream().filter(d -> selects(s.getSpec().getSelector(), podLabels(d))).toList();
            if (targets.isEmpty()) {
                errors.add(at + ": selector " + s.getSpec().getSelector() + " matches no Deployment's pods");
            }
            Set<String> names = new java.util.HashSet<>();
            for (ServicePort p : s.getSpec().getPorts()) {
                if (p.getName() == null ? s.getSpec().getPorts().size() > 1 : (!validPortName(p.getName()) || !names.add(p.getName()))) {
                    errors.add(at + ": port name '" + p.getName() + "' missing, invalid or repeated");
                }
                if (p.getNodePort() != null && "ClusterIP".equals(s.getSpec().getType())) {
                    errors.add(at + ": nodePort on a ClusterIP Service");
                }
                if (p.getTargetPort() != null && p.getTargetPort().getStrVal() != null) {
                    String target = p.getTargetPort().getStrVal();
                    for (Deployment d : targets) {
                        boolean found = d.getSpec().getTemplate().getSpec().getContainers().stream()
                                .flatMap(c -> Optional.ofNullable(c.getPorts()).orElse(List.of()).stream())
                                .anyMatch(cp -> target.equals(cp.getName()));
                        if (!found) {
                            errors.add(at + ": targetPort '" + target + "' is no container port of Deployment/" + d.getMetadata().getName());
                        }
                    }
                }
            }
            if (s.getSpec().getExternalTrafficPolicy() != null && "ClusterIP".equals(s.getSpec().getType())) {
                errors.add(at + ": externalTrafficPolicy on a ClusterIP Service");
            }
        }
        for (ServiceMonitor sm : ofKind(objects, ServiceMonitor.class)) {
            String at = "ServiceMonitor/" + sm.getMetadata().getName();
            List<Service> services = ofKind(objects, Service.class).stream()
                    .filter(s -> selects(sm.getSpec().getSelector().getMatchLabels(), s.getMetadata().getLabels())).toList();
            if (services.size() != 1) {
                errors.add(at + ": selector matches " + services.size() + " Services, expected exactly one");
            }
            sm.getSpec().getEndpoints().forEach(ep -> services.forEach(s -> {
                if (s.getSpec().getPorts().stream().noneMatch(p -> Objects.equals(p.getName(), ep.getPort()))) {
                    errors.add(at + ": endpoint port '" + ep.getPort() + "' is no port of Service/" + s.getMetadata().getName());
                }
            }));
        }
        for (PodDisruptionBudget pdb : ofKind(objects, PodDisruptionBudget.class)) {
            if (deployments.stream().noneMatch(d -> selects(pdb.getSpec().getSelector().getMatchLabels(), podLabels(d)))) {
                errors.add("PodDisruptionBudget/" + pdb.getMetadata().getName() + ": selector matches no Deployment's pods");
            }
            if (pdb.getSpec().getMinAvailable() != null && pdb.getSpec().getMaxUnavailable() != null) {
                errors.add("PodDisruptionBudget/" + pdb.getMetadata().getName() + ": both minAvailable and maxUnavailable");
            }
        }
        for (HorizontalPodAutoscaler hpa : ofKind(objects, HorizontalPodAutoscaler.class)) {
            var ref = hpa.getSpec().getScaleTargetRef();
            if (deployments.stream().noneMatch(d -> d.getMetadata().getName().equals(ref.getName())) || !"Deployment".equals(ref.getKind())) {
                errors.add("HorizontalPodAutoscaler/" + hpa.getMetadata().getName() + ": scaleTargetRef names no Deployment here");
            }
            deployments.stream().filter(d -> d.getMetadata().getName().equals(ref.getName()) && d.getSpec().getReplicas() != null)
                    .forEach(d -> errors.add("Deployment/" + d.getMetadata().getName() + " sets replicas although an HPA scales it"));
            errors.addAll(hpaMetrics(hpa, deployments.stream().filter(d -> d.getMetadata().getName().equals(ref.getName())).toList()));
        }
        // A PDB that lets no pod go when the Deployment runs its fewest pods: node drains wait for ever.
        for (PodDisruptionBudget pdb : ofKind(objects, PodDisruptionBudget.class)) {
            IntOrString min = pdb.getSpec().getMinAvailable();
            if (min == null || min.getIntVal() == null) {
                continue;
            }
            for (Deployment d : deployments) {
                if (!selects(pdb.getSpec().getSelector().getMatchLabels(), podLabels(d))) {
                    continue;
                }
                Integer fewest = ofKind(objects, HorizontalPodAutoscaler.class).stream()
                        .filter(h -> d.getMetadata().getName().equals(h.getSpec().getScaleTargetRef().getName()))
                        .map(h -> Optional.ofNullable(h.getSpec().getMinReplicas()).orElse(1)).findFirst()
                        .orElse(Optional.ofNullable(d.getSpec().getReplicas()).orElse(1));
                if (min.getIntVal() >= fewest) {
                    errors.add("PodDisruptionBudget/" + pdb.getMetadata().getName() + ": minAvailable " + min.getIntVal()
                            + " is not below the " + fewest + " pod(s) Deployment/" + d.getMetadata().getName()
                            + " may run: no pod could be evicted (node drains would wait for ever)");
                }
            }
        }
        return errors;
    }

    /**
     * What the API server or the HPA controller would refuse or could not compute: a Pods metric is an AverageValue
     * with a name, a Utilization target needs a request of that resource in every container of the target.
     */
    static List<String> hpaMetrics(HorizontalPodAutoscaler hpa, List<Deployment> targets) {
        List<String> errors = new ArrayList<>();
        String at = "HorizontalPodAutoscaler/" + hpa.getMetadata().getName() + ": ";
        var spec = hpa.getSpec();
        if (spec.getMinReplicas() != null && spec.getMaxReplicas() != null && spec.getMinReplicas() > spec.getMaxReplicas()) {
            errors.add(at + "minReplicas " + spec.getMinReplicas() + " above maxReplicas " + spec.getMaxReplicas());
        }
        for (var m : Optional.ofNullable(spec.getMetrics()).orElse(List.of())) {
            if ("Pods".equals(m.getType())) {
                if (m.getPods() == null || m.getPods().getMetric() == null || m.getPods().getMetric().getName() == null
                        || m.getPods().getMetric().getName().isBlank()) {
                    errors.add(at + "a Pods metric without a name");
                } else if (m.getPods().getTarget() == null || !"AverageValue".equals(m.getPods().getTarget().getType())
                        || m.getPods().getTarget().getAverageValue() == null) {
                    errors.add(at + "Pods metric " + m.getPods().getMetric().getName() + ": target must be an AverageValue");
                }
            } else if ("Resource".equals(m.getType()) && m.getResource() != null && m.getResource().getTarget() != null
                    && "Utilization".equals(m.getResource().getTarget().getType())) {
                String resource = m.getResource().getName();
                for (Deployment d : targets) {
                    for (Container c : d.getSpec().getTemplate().getSpec().getContainers()) {
                        boolean requested = c.getResources() != null && c.getResources().getRequests() != null
                                && c.getResources().getRequests().containsKey(resource)
                                || c.getResources() != null && c.getResources().getLimits() != null
                                && c.getResources().getLimits().containsKey(resource); // a limit alone is the request
                        if (!requested) {
                            errors.add(at + "scales on " + resource + " utilization, but container " + c.getName()
                                    + " of Deployment/" + d.getMetadata().getName() + " requests no " + resource
                                    + " (the HPA cannot compute a utilization)");
                        }
                    }
                }
            }
        }
        return errors;
    }

    /** The chart's promises about its Deployment. */
    List<String> chartPolicy(Deployment d, List<HasMetadata> objects) {
        List<String> errors = new ArrayList<>();
        PodSpec pod = d.getSpec().getTemplate().getSpec();
        PodSecurityContext psc = Optional.ofNullable(pod.getSecurityContext()).orElse(new PodSecurityContext());
        Map<String, String> annotations = Optional.ofNullable(d.getSpec().getTemplate().getMetadata().getAnnotations()).orElse(Map.of());
        if (!annotations.containsKey("checksum/config")) {
            errors.add("pod template has no checksum/config annotation (application.yml changes would not roll the pods)");
        }
        annotations.keySet().stream().filter(k -> k.startsWith("checksum/") && !k.equals("checksum/config"))
                .forEach(k -> errors.add("pod template annotation " + k + ": only application.yml may roll the pods (rules.yaml hot-reloads)"));
        Map<String, Volume> volumes = new LinkedHashMap<>();
        Optional.ofNullable(pod.getVolumes()).orElse(List.of()).forEach(v -> volumes.put(v.getName(), v));
        for (Container c : pod.getContainers()) {
            String at = "container " + c.getName() + ": ";
            SecurityContext sc = Optional.ofNullable(c.getSecurityContext()).orElse(new SecurityContext());
            if (!Boolean.TRUE.equals(sc.getRunAsNonRoot()) && !Boolean.TRUE.equals(psc.getRunAsNonRoot())) {
                errors.add(at + "runAsNonRoot is not true");
            }
            Long uid = sc.getRunAsUser() != null ? sc.getRunAsUser() : psc.getRunAsUser();
            if (uid != null && uid == 0) {
                errors.add(at + "runAsUser 0");
            }
            if (!Boolean.TRUE.equals(sc.getReadOnlyRootFilesystem())) {
                errors.add(at + "readOnlyRootFilesystem is not true");
            }
            if (!Boolean.FALSE.equals(sc.getAllowPrivilegeEscalation())) {
                errors.add(at + "allowPrivilegeEscalation is not false");
            }
            if (Boolean.TRUE.equals(sc.getPrivileged())) {
                errors.add(at + "privileged");
            }
            if (sc.getCapabilities() == null || sc.getCapabilities().getDrop() == null || !sc.getCapabilities().getDrop().contains("ALL")) {
                errors.add(at + "capabilities do not drop ALL");
            }
            if (sc.getCapabilities() != null && sc.getCapabilities().getAdd() != null && !sc.getCapabilities().getAdd().isEmpty()) {
                errors.add(at + "adds capabilities " + sc.getCapabilities().getAdd());
            }
            String seccomp = sc.getSeccompProfile() != null ? sc.getSeccompProfile().getType()
                    : psc.getSeccompProfile() != null ? psc.getSeccompProfile().getType() : null;
            if (!"RuntimeDefault".equals(seccomp) && !"Localhost".equals(seccomp)) {
                errors.add(at + "seccompProfile is " + seccomp + ", expected RuntimeDefault");
            }
            List<VolumeMount> mounts = Optional.ofNullable(c.getVolumeMounts()).orElse(List.of());
            Optional<VolumeMount> tmp = mounts.stream().filter(m -> "/tmp".equals(m.getMountPath())).findFirst();
            if (tmp.isEmpty() || volumes.get(tmp.get().getName()) == null || volumes.get(tmp.get().getName()).getEmptyDir() == null) {
                errors.add(at + "/tmp is not an emptyDir (the only writable path of a read-only root)");
            }
            mounts.stream().filter(m -> m.getSubPath() != null || m.getSubPathExpr() != null)
                    .forEach(m -> errors.add(at + "volumeMount " + m.getMountPath() + " uses subPath: ConfigMap updates would not reach the pod"));
            for (String dir : List.of("/etc/portcullis/config", "/etc/portcullis/rules")) {
                mounts.stream().filter(m -> dir.equals(m.getMountPath())).findFirst().ifPresent(m -> {
                    Volume v = volumes.get(m.getName());
                    if (v == null || v.getConfigMap() == null) {
                        errors.add(at + dir + " is not a ConfigMap volume");
                    }
                    if (!Boolean.TRUE.equals(m.getReadOnly())) {
                        errors.add(at + dir + " is not mounted read-only");
                    }
                });
            }
            if (mounts.stream().noneMatch(m -> "/etc/portcullis/config".equals(m.getMountPath()))) {
                errors.add(at + "application.yml is not mounted at /etc/portcullis/config");
            }
            ConfigMap config = ofKind(objects, ConfigMap.class).stream()
                    .filter(cm -> cm.getData() != null && cm.getData().containsKey("application.yml")).findFirst().orElse(null);
            if (config == null) {
                errors.add("no ConfigMap with application.yml rendered");
            } else if (config.getData().get("application.yml").contains("file:/etc/portcullis/rules/rules.yaml")
                    && mounts.stream().noneMatch(m -> "/etc/portcullis/rules".equals(m.getMountPath()))) {
                errors.add(at + "application.yml reads /etc/portcullis/rules/rules.yaml but nothing is mounted there");
            }
            if (config != null) {
                adminApart(at, config.getData().get("application.yml"), c, objects, errors);
                placeholders(at, config.getData().get("application.yml"), c, errors);
                cluster(at, config.getData().get("application.yml"), c, errors);
            }
            probe(at + "livenessProbe", c.getLivenessProbe(), "/actuator/health/liveness", c, errors);
            probe(at + "readinessProbe", c.getReadinessProbe(), "/actuator/health/readiness", c, errors);
            if (c.getResources() == null || c.getResources().getLimits() == null || !c.getResources().getLimits().containsKey("memory")) {
                errors.add(at + "no memory limit (the heap is sized from it)");
            }
            for (EnvVar e : Optional.ofNullable(c.getEnv()).orElse(List.of())) {
                if (SECRET_ENV.contains(e.getName())
                        && (e.getValue() != null || e.getValueFrom() == null || e.getValueFrom().getSecretKeyRef() == null)) {
                    errors.add(at + e.getName() + " does not come from a Secret");
                }
                if (e.getValue() != null && e.getValue().matches("(?s).*-Xmx\\d.*")) {
                    errors.add(at + "env " + e.getName() + " fixes the heap with -Xmx; use -XX:MaxRAMPercentage");
                }
            }
            Optional.ofNullable(c.getArgs()).orElse(List.of()).stream().filter(a -> a.startsWith("-Xmx"))
                    .forEach(a -> errors.add(at + "argument " + a + " fixes the heap"));
        }
        return errors;
    }

    /**
     * Health and metrics on 9901 (management.server.port), the admin API on another port (server.port) that no
     * Service exposes but one labelled app.kubernetes.io/component: admin, and on 127.0.0.1 when none does.
     */
    static void adminApart(String at, String applicationYml, Container c, List<HasMetadata> objects, List<String> errors) {
        JsonNode app;
        try {
            app = new ObjectMapper(new YAMLFactory()).readTree(applicationYml);
        } catch (IOException e) {
            errors.add(at + "application.yml does not parse: " + e.getMessage());
            return;
        }
        int management = app.path("management").path("server").path("port").asInt(-1);
        int admin = app.path("server").path("port").asInt(-1);
        if (management != 9901 || admin == -1 || admin == 9901) {
            errors.add(at + "application.yml: management.server.port is " + management + " and server.port " + admin
                    + ", expected 9901 and another port (the admin API apart from health and metrics)");
            return;
        }
        Set<String> adminPortNames = new java.util.HashSet<>();
        Optional.ofNullable(c.getPorts()).orElse(List.of()).stream()
                .filter(p -> p.getContainerPort() != null && p.getContainerPort() == admin && p.getName() != null)
                .forEach(p -> adminPortNames.add(p.getName()));
        boolean exposed = false;
        for (Service s : ofKind(objects, Service.class)) {
            boolean adminService = "admin".equals(Optional.ofNullable(s.getMetadata().getLabels()).orElse(Map.of())
                    .get("app.kubernetes.io/component"));
            for (ServicePort p : s.getSpec().getPorts()) {
                IntOrString target = Optional.ofNullable(p.getTargetPort()).orElse(new IntOrString(p.getPort()));
                boolean toAdmin = target.getIntVal() != null ? target.getIntVal() == admin : adminPortNames.contains(target.getStrVal());
                if (toAdmin && !adminService) {
                    errors.add(at + "Service/" + s.getMetadata().getName() + " port " + p.getName() + " exposes the admin API (port " + admin + ")");
                }
                exposed |= toAdmin && adminService;
            }
        }
        String address = app.path("server").path("address").asText("");
        if (!exposed && !address.equals("127.0.0.1")) {
            errors.add(at + "application.yml: server.address is '" + address + "' without an admin Service; expected 127.0.0.1");
        }
    }

    /** Environment variables that carry secrets: never a literal value in the manifest. */
    static final Set<String> SECRET_ENV = Set.of("PORTCULLIS_ADMIN_TOKEN", "PORTCULLIS_REDIS_URL", "PORTCULLIS_REDIS_PASSWORD");
    /** ${NAME} without a default (a default follows a colon): Spring leaves it a literal when NAME is unset. */
    static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");

    /** Every ${NAME} without a default in application.yml is an env var of the container. */
    static void placeholders(String at, String applicationYml, Container c, List<String> errors) {
        Set<String> env = new java.util.HashSet<>(Set.of("HOSTNAME")); // set by the container runtime
        Optional.ofNullable(c.getEnv()).orElse(List.of()).forEach(e -> env.add(e.getName()));
        var m = PLACEHOLDER.matcher(applicationYml);
        while (m.find()) {
            if (!env.contains(m.group(1))) {
                errors.add(at + "application.yml names ${" + m.group(1) + "}, which the container does not set: it would"
                        + " stay a literal");
            }
        }
    }

    /**
     * With a cluster (portcullis.cluster.redis.url): no password in the ConfigMap (only a ${VAR} of a Secret), and the
     * replica id is the pod's name from the downward API (unique in the Deployment, the pod an operator reaches).
     */
    static void cluster(String at, String applicationYml, Container c, List<String> errors) {
        JsonNode cluster;
        try {
            cluster = new ObjectMapper(new YAMLFactory()).readTree(applicationYml).path("portcullis").path("cluster");
        } catch (IOException e) {
            return; // adminApart reported it
        }
        String url = cluster.path("redis").path("url").asText("");
        if (url.isBlank()) {
            return;
        }
        var userInfo = Pattern.compile("^[a-z-]+://([^@/]*)@").matcher(url);
        if (userInfo.find() && userInfo.group(1).contains(":")
                && !userInfo.group(1).substring(userInfo.group(1).indexOf(':') + 1).matches("\\$\\{[A-Z0-9_]+}")) {
            errors.add(at + "application.yml: portcullis.cluster.redis.url holds a password in the ConfigMap");
        }
        String id = cluster.path("replica-id").asText("");
        var named = PLACEHOLDER.matcher(id);
        boolean podName = named.matches() && Optional.ofNullable(c.getEnv()).orElse(List.of()).stream()
                .anyMatch(e -> e.getName().equals(named.group(1)) && e.getValueFrom() != null
                        && e.getValueFrom().getFieldRef() != null
                        && "metadata.name".equals(e.getValueFrom().getFieldRef().getFieldPath()));
        if (!podName) {
            errors.add(at + "application.yml: portcullis.cluster.replica-id is '" + id + "', expected ${VAR} of an env var"
                    + " from the pod's metadata.name");
        }
    }

    static void probe(String at, Probe probe, String path, Container c, List<String> errors) {
        if (probe == null || probe.getHttpGet() == null) {
            errors.add(at + " is not an HTTP GET");
            return;
        }
        if (!path.equals(probe.getHttpGet().getPath())) {
            errors.add(at + " path is " + probe.getHttpGet().getPath() + ", expected " + path);
        }
        IntOrString port = probe.getHttpGet().getPort();
        Integer number = port.getIntVal() != null ? port.getIntVal()
                : Optional.ofNullable(c.getPorts()).orElse(List.of()).stream().filter(p -> port.getStrVal().equals(p.getName()))
                        .map(ContainerPort::getContainerPort).findFirst().orElse(null);
        if (!Integer.valueOf(9901).equals(number)) {
            errors.add(at + " port is " + port + ", expected 9901 (management)");
        }
    }

    // ---------------------------------------------------------------------------------------------------

    /** Proves that the checks above reject what they claim to: each broken document must fail. */
    void selfTest() {
        System.out.println("== self-test: each broken manifest below must be refused");
        String service = """
                apiVersion: v1
                kind: Service
                metadata:
                  name: s
                  labels: {app: x}
                spec:
                  selector: {app: x}
                  ports:
                    - name: http
                      port: 80
                      targetPort: http
                """;
        Map<String, String> broken = new LinkedHashMap<>();
        broken.put("unknown nested field", service.replace("      targetPort: http", "      targetPort: http\n      tagetPort: 81"));
        broken.put("unknown top-level spec field", service.replace("spec:\n", "spec:\n  replicas: 2\n"));
        broken.put("string where an integer belongs", service.replace("port: 80", "port: \"80\""));
        broken.put("number where a string belongs", service.replace("labels: {app: x}", "labels: {app: 1}"));
        broken.put("duplicate key", service.replace("  labels: {app: x}", "  labels: {app: x}\n  labels: {app: y}"));
        broken.put("unknown apiVersion", service.replace("apiVersion: v1", "apiVersion: v2"));
        broken.put("misspelt kind", """
                apiVersion: policy/v1beta1
                kind: PodDisruptionBudget
                metadata: {name: p}
                spec: {maxUnavailable: 1, selector: {matchLabels: {app: x}}}
                """);
        broken.put("unknown field in a PrometheusRule", """
                apiVersion: monitoring.coreos.com/v1
                kind: PrometheusRule
                metadata: {name: r}
                spec:
                  groups:
                    - name: g
                      rules:
                        - alert: A
                          expr: up == 0
                          severity: critical
                """);
        broken.put("invalid label value", service.replace("labels: {app: x}", "labels: {app: \"a b\"}"));
        int before = failed;
        ManifestCheck inner = new ManifestCheck(false);
        java.io.PrintStream out = System.out;
        for (Map.Entry<String, String> e : broken.entrySet()) {
            List<String> errors = new ArrayList<>();
            HasMetadata o = inner.read(e.getValue(), errors);
            if (o != null) {
                inner.checkMetadata(o, errors);
            }
            if (errors.isEmpty()) {
                report("self-test: " + e.getKey() + " was NOT refused", List.of("the checker accepted a broken manifest"));
            } else {
                report("self-test: " + e.getKey() + " refused: " + errors.get(0), List.of());
            }
        }
        List<String> errors = new ArrayList<>();
        HasMetadata ok = inner.read(service, errors);
        report("self-test: the valid Service is accepted", ok == null ? errors : List.of());
        System.setOut(out);
        if (failed > before) {
            System.out.println("self-test failed: the checks cannot be trusted");
        }
    }
}
