package dev.gemshrink.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Runs a test method once per driver model, with the {@link DriverUnderTest} as its first parameter (see
 * {@link BothDrivers#all()}).
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@ParameterizedTest(name = "{0}")
@MethodSource("dev.gemshrink.testing.BothDrivers#all")
public @interface OnBothDrivers {
}
