package io.portcullis.gateway;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The modules' direction (portcullis-core ← the policy-rules adapter ← the Spring application), no package cycles,
 * and Spring kept to the wiring (DESIGN.md, Layout).
 */
class ArchitectureTest {

    /** The public API of portcullis-core; everything else there is package-private. */
    private static final Set<String> CORE_API = Set.of(
            "AbortHandler", "AbortReason", "AcceptHandler", "AcceptedConnection", "Completion", "EarlyBytes",
            "EventLoops", "InspectAction", "InspectHandler", "InspectId", "InspectRequest", "InspectionEnd", "Listener",
            "Listener$Builder", "ListenerObserver", "ListenerSettings", "PendOutcome", "PendingInspection", "Permit",
            "PeekReject", "PeekSettings", "PipelineNames", "ProxyHeader", "SourceFilter", "SourceFilterState", "TlsHello",
            "Transport", "Verdict",
            "relay.BackendHealthChecker", "relay.BackendPool", "relay.Balance", "relay.HealthCheckSettings",
            "relay.RelayAcceptHandler", "relay.RelayObserver", "relay.RelaySettings",
            "demo.EchoServer");

    private static JavaClasses classes;

    @BeforeAll
    static void load() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                // portcullis-core's test tools come as its test jar
                .withImportOption(location -> !location.contains("-tests.jar"))
                .importPackages("io.portcullis");
    }

    @Test
    void coreDependsOnNettyAndSlf4jOnly() {
        classes().that().resideInAPackage("io.portcullis.core..")
                .should().onlyDependOnClassesThat().resideInAnyPackage(
                        "java..", "io.netty..", "org.slf4j..", "io.portcullis.core..")
                .check(classes);
    }

    @Test
    void coreKeepsItsInsidesPackagePrivate() {
        DescribedPredicate<JavaClass> api = DescribedPredicate.describe("the core API", c ->
                CORE_API.contains(c.getName().substring("io.portcullis.core.".length())));
        classes().that().resideInAPackage("io.portcullis.core..").and(DescribedPredicate.not(api))
                .and().areNotMemberClasses().and().areNotAnonymousClasses()
                .should().notHaveModifier(JavaModifier.PUBLIC)
                .check(classes);
    }

    @Test
    void policyRulesUsesNeitherSpringNorNettyNorTheCore() {
        noClasses().that().resideInAPackage("io.portcullis.policy..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "org.springframework..", "io.netty..", "io.portcullis.core..", "io.portcullis.gateway..")
                .check(classes);
    }

    @Test
    void onlyTheWiringUsesSpring() {
        noClasses().that().resideInAnyPackage(
                        "io.portcullis.gateway", "io.portcullis.gateway.metrics..", "io.portcullis.gateway.policy..",
                        "io.portcullis.gateway.decision..", "io.portcullis.gateway.pending..")
                .and().doNotHaveSimpleName("PortcullisApplication")
                .should().dependOnClassesThat().resideInAnyPackage("org.springframework..")
                .check(classes);
    }

    /** The gateway is built from plain settings, never from the Spring-bound configuration records. */
    @Test
    void theGatewayDoesNotKnowTheConfiguration() {
        noClasses().that().resideInAnyPackage("io.portcullis.gateway", "io.portcullis.gateway.decision..",
                        "io.portcullis.gateway.metrics..", "io.portcullis.gateway.policy..", "io.portcullis.gateway.pending..")
                .and().doNotHaveSimpleName("PortcullisApplication")
                .should().dependOnClassesThat().resideInAnyPackage("io.portcullis.gateway.config..",
                        "io.portcullis.gateway.admin..", "io.portcullis.gateway.command..")
                .check(classes);
    }

    @Test
    void gatewayPackagesHaveNoCycles() {
        slices().matching("io.portcullis.gateway.(*)..").should().beFreeOfCycles().check(classes);
    }

    @Test
    void corePackagesHaveNoCycles() {
        slices().matching("io.portcullis.core.(*)..").should().beFreeOfCycles().check(classes);
    }
}
