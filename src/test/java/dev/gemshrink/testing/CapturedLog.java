package dev.gemshrink.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * The log lines of one logger, captured instead of printed, so that a test that provokes a warning asserts on its
 * text and a passing build prints none. Close it to print again.
 */
public final class CapturedLog implements AutoCloseable {
    private final Logger logger;
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    private CapturedLog(Class<?> loggerOf) {
        this.logger = (Logger) LoggerFactory.getLogger(loggerOf);
        appender.start();
        logger.addAppender(appender);
        logger.setAdditive(false);
    }

    /**
     * Starts capturing what the class logs.
     *
     * @param loggerOf the class whose logger to capture
     * @return the capture; close it to restore printing
     */
    public static CapturedLog of(Class<?> loggerOf) {
        return new CapturedLog(loggerOf);
    }

    /**
     * Returns the events captured so far (a snapshot: the list is written by any thread).
     *
     * @return the events, in order
     */
    public List<ILoggingEvent> events() {
        synchronized (appender) {
            return List.copyOf(appender.list);
        }
    }

    /**
     * Returns the formatted messages at a level.
     *
     * @param level the level
     * @return the messages, in order
     */
    public List<String> messages(Level level) {
        return events().stream().filter(e -> e.getLevel() == level).map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Override
    public void close() {
        logger.setAdditive(true);
        logger.detachAppender(appender);
    }
}
