package dev.gemshrink.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.StringReader;
import org.junit.jupiter.api.Test;

/** Parsing access traces: plain ids, CSV with id and size columns, and {@code line N: reason} errors. */
class AccessTraceTest {
    private static AccessTrace parse(String text) throws IOException, TraceSyntaxException {
        return AccessTrace.parse(new StringReader(text));
    }

    private static TraceSyntaxException errorsOf(String text) {
        try {
            parse(text);
        } catch (TraceSyntaxException e) {
            return e;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("parsed: " + text);
    }

    @Test
    void plainIdsAreOnePageEachAndBlankLinesAndABomAreIgnored() throws Exception {
        AccessTrace t = parse("\uFEFF7\r\n\r\n  0 \n\t9223372036854775807\n00012\n");
        assertThat(t.requests()).isEqualTo(4);
        assertThat(new long[] {t.id(0), t.id(1), t.id(2), t.id(3)})
                .containsExactly(7, 0, Long.MAX_VALUE, 12);
        assertThat(new int[] {t.pages(0), t.pages(1), t.pages(2), t.pages(3)}).containsExactly(1, 1, 1, 1);
    }

    @Test
    void csvTakesTheIdAndSizeColumnsWhereverTheyAreAndRoundsSizesUpToPages() throws Exception {
        AccessTrace t = parse("time,size,id,op\n1,4096,5,get\n2,4097,6,get\n3, 1 , 5 ,set\n4,8192,7,get\n");
        assertThat(t.requests()).isEqualTo(4);
        assertThat(new long[] {t.id(0), t.id(1), t.id(2), t.id(3)}).containsExactly(5, 6, 5, 7);
        assertThat(new int[] {t.pages(0), t.pages(1), t.pages(2), t.pages(3)}).containsExactly(1, 2, 1, 2);
    }

    @Test
    void csvWithoutASizeColumnHasOnePageObjects() throws Exception {
        AccessTrace t = parse("id\n3\n4\n");
        assertThat(t.requests()).isEqualTo(2);
        assertThat(t.pages(1)).isEqualTo(1);
    }

    @Test
    void aTraceWithoutRequestsParses() throws Exception {
        assertThat(parse("").requests()).isZero();
        assertThat(parse("\n  \n").requests()).isZero();
        assertThat(parse("id,size\n").requests()).isZero();
    }

    @Test
    void badLinesAreNamedWithTheirNumberAndReason() {
        TraceSyntaxException e = errorsOf("1\n-2\n9223372036854775808\n3,4\n\n1.5\nabc\n4\n");
        assertThat(e.errors()).containsExactly(
                "line 2: bad id '-2' (a decimal integer 0 to 9223372036854775807)",
                "line 3: bad id '9223372036854775808' (a decimal integer 0 to 9223372036854775807)",
                "line 4: bad id '3,4' (a decimal integer 0 to 9223372036854775807)",
                "line 6: bad id '1.5' (a decimal integer 0 to 9223372036854775807)",
                "line 7: bad id 'abc' (a decimal integer 0 to 9223372036854775807)");
        assertThat(e.total()).isEqualTo(5);
    }

    @Test
    void badCsvRowsAreNamedWithTheirNumberAndReason() {
        TraceSyntaxException e = errorsOf("id,size\n1,0\n2\n3,4096,x\n4,x\n,4096\n5,9223372036854775807\n");
        assertThat(e.errors()).containsExactly(
                "line 2: bad size '0' (bytes, a decimal integer 1 to 9223372036854775807)",
                "line 3: expected 2 fields, found 1",
                "line 4: expected 2 fields, found 3",
                "line 5: bad size 'x' (bytes, a decimal integer 1 to 9223372036854775807)",
                "line 6: bad id '' (a decimal integer 0 to 9223372036854775807)",
                "line 7: size 9223372036854775807 is more than 2147483647 pages");
    }

    @Test
    void aHeaderWithoutAnIdColumnEndsTheParse() {
        TraceSyntaxException e = errorsOf("\nkey,size\n1,2\nx\n");
        assertThat(e.errors()).containsExactly("line 2: neither an id nor a CSV header with an id column: 'key,size'");
        assertThat(e.total()).isEqualTo(1);
        assertThat(errorsOf("id,size,id\n1,2,3\n").errors())
                .containsExactly("line 1: header names column 'id' twice");
    }

    @Test
    void theFirstFiftyErrorsAreKeptAndAllAreCounted() {
        TraceSyntaxException e = errorsOf("1\n" + "bad\n".repeat(73));
        assertThat(e.errors()).hasSize(TraceSyntaxException.MAX_ERRORS);
        assertThat(e.errors().get(49)).startsWith("line 51: bad id 'bad'");
        assertThat(e.total()).isEqualTo(73);
    }
}
