package dev.gemshrink;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.core.domain.properties.HasModifiers.Predicates.modifier;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The package layering of the library. The lower layers (core, memory, locking, checking, reclaim) never know the
 * driver models ({@code panfrost}, {@code panthor}) or the command line tool ({@code cli}); the two drivers do not
 * know each other; memory and locking are leaves below core;
 * the tool uses only public classes of exported packages and nothing in the library uses the tool; and the
 * top-level packages form no cycle. Rules about packages that do not exist yet pass vacuously.
 */
@AnalyzeClasses(packages = "dev.gemshrink",
        importOptions = {ImportOption.DoNotIncludeTests.class, ArchitectureTest.DoNotIncludeTestClassesDirs.class})
class ArchitectureTest {
    /** The packages the module exports (the public API), read from {@code module-info.java}: one list, not two. */
    private static final String[] EXPORTED = exportedPackages();

    private static String[] exportedPackages() {
        try {
            Matcher m = Pattern.compile("(?m)^\\s*exports\\s+([\\w.]+)\\s*;")
                    .matcher(Files.readString(Path.of("src/main/java/module-info.java")));
            List<String> out = new ArrayList<>();
            while (m.find()) {
                out.add(m.group(1));
            }
            if (out.isEmpty()) {
                throw new IllegalStateException("module-info.java exports nothing");
            }
            return out.toArray(String[]::new);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * {@link ImportOption.DoNotIncludeTests} recognises Maven test classes only under {@code .../target/test-classes/}.
     * Builds run with {@code -Dgemshrink.build.dir=/tmp/xyz} put them in {@code /tmp/xyz/test-classes/}, which it
     * lets through, and then the tests' own dependencies (core tests calling the checker) look like package cycles.
     * This option excludes any {@code test-classes} directory, wherever the build directory is.
     */
    public static final class DoNotIncludeTestClassesDirs implements ImportOption {
        private static final Pattern TEST_CLASSES = Pattern.compile(".*/test-classes/.*");

        /** Creates the option (instantiated reflectively by ArchUnit). */
        public DoNotIncludeTestClassesDirs() {
        }

        @Override
        public boolean includes(Location location) {
            return !location.matches(TEST_CLASSES);
        }
    }

    @ArchTest
    static final ArchRule lowerLayersDoNotDependOnTheDriverOrTheTool = noClasses()
            .that().resideInAnyPackage("dev.gemshrink.core..", "dev.gemshrink.memory..", "dev.gemshrink.locking..",
                    "dev.gemshrink.checking..", "dev.gemshrink.reclaim..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.gemshrink.panfrost..", "dev.gemshrink.panthor..",
                    "dev.gemshrink.cli..")
            .because("the core model must stay usable without the driver models and the command line tool")
            .allowEmptyShould(true);

    @ArchTest
    static final ArchRule panthorDoesNotDependOnPanfrost = noClasses()
            .that().resideInAPackage("dev.gemshrink.panthor..")
            .should().dependOnClassesThat().resideInAPackage("dev.gemshrink.panfrost..")
            .because("the drivers share only the core; what both need lives there")
            .allowEmptyShould(true);

    @ArchTest
    static final ArchRule panfrostDoesNotDependOnPanthor = noClasses()
            .that().resideInAPackage("dev.gemshrink.panfrost..")
            .should().dependOnClassesThat().resideInAPackage("dev.gemshrink.panthor..")
            .because("the drivers share only the core; what both need lives there")
            .allowEmptyShould(true);

    @ArchTest
    static final ArchRule memoryAndLockingDoNotDependOnCore = noClasses()
            .that().resideInAnyPackage("dev.gemshrink.memory..", "dev.gemshrink.locking..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.gemshrink.core..")
            .because("pages, swap and locks are the leaves the buffer objects are built on")
            .allowEmptyShould(true);

    @ArchTest
    static final ArchRule theToolUsesOnlyThePublicApi = classes()
            .that().resideInAPackage("dev.gemshrink.cli..")
            .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.gemshrink..")
                    .or(resideInAPackage("dev.gemshrink.cli.."))
                    .or(resideInAnyPackage(EXPORTED).and(modifier(JavaModifier.PUBLIC))))
            .because("the command line is argument parsing and printing over the library's public API, simulations "
                    + "included (dev.gemshrink.sim)");

    @ArchTest
    static final ArchRule theLibraryDoesNotDependOnTheTool = noClasses()
            .that().resideOutsideOfPackage("dev.gemshrink.cli..")
            .should().dependOnClassesThat().resideInAPackage("dev.gemshrink.cli..")
            .because("simulations are a feature of the library, usable without the command line");

    @ArchTest
    static final ArchRule topLevelPackagesAreFreeOfCycles = slices()
            .matching("dev.gemshrink.(*)..")
            .should().beFreeOfCycles()
            .allowEmptyShould(true);
}
