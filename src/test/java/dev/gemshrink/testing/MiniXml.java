package dev.gemshrink.testing;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict little XML parser for the report test (the test code lives in the library's module, which does not read
 * {@code java.xml}): it accepts a doctype, elements with quoted attributes, text with the five predefined entities
 * and numeric references, and comments; anything else, or a tag that does not nest, fails.
 */
public final class MiniXml {
    /** An element. */
    public static final class Node {
        public final String name;
        final Map<String, String> attrs;
        final List<Node> children = new ArrayList<>();
        final StringBuilder text = new StringBuilder();

        Node(String name, Map<String, String> attrs) {
            this.name = name;
            this.attrs = attrs;
        }

        public String attr(String a) {
            return attrs.getOrDefault(a, "");
        }

        /** All text inside, children included. */
        public String textContent() {
            StringBuilder b = new StringBuilder(text);
            for (Node c : children) {
                b.append(c.textContent());
            }
            return b.toString();
        }

        /** All descendants (not this node) with that name, in document order. */
        public List<Node> find(String tag) {
            List<Node> out = new ArrayList<>();
            walk(n -> {
                if (n != this && n.name.equals(tag)) {
                    out.add(n);
                }
            });
            return out;
        }

        private void walk(Consumer<Node> f) {
            f.accept(this);
            for (Node c : children) {
                c.walk(f);
            }
        }
    }

    private static final Pattern NAME = Pattern.compile("[A-Za-z_:][A-Za-z0-9_:.-]*");
    private static final Pattern ATTR = Pattern.compile("\\s+([A-Za-z_:][A-Za-z0-9_:.-]*)=\"([^\"<]*)\"");
    private static final Pattern ENTITY = Pattern.compile("&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);");

    private MiniXml() {
    }

    /**
     * Parses a document.
     *
     * @param s the text
     * @return the root element
     * @throws IllegalArgumentException when it is not well-formed
     */
    public static Node parse(String s) {
        int i = 0;
        if (s.startsWith("<!DOCTYPE")) {
            i = s.indexOf('>') + 1;
        }
        Deque<Node> stack = new ArrayDeque<>();
        Node root = null;
        while (i < s.length()) {
            int lt = s.indexOf('<', i);
            String text = s.substring(i, lt < 0 ? s.length() : lt);
            checkText(text);
            if (!stack.isEmpty()) {
                stack.peek().text.append(text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"")
                        .replace("&amp;", "&"));
            } else if (!text.isBlank()) {
                throw new IllegalArgumentException("text outside the root element: " + text);
            }
            if (lt < 0) {
                break;
            }
            if (s.startsWith("<!--", lt)) {
                int end = s.indexOf("-->", lt);
                if (end < 0) {
                    throw new IllegalArgumentException("unclosed comment");
                }
                i = end + 3;
                continue;
            }
            int gt = s.indexOf('>', lt);
            if (gt < 0) {
                throw new IllegalArgumentException("unclosed tag at " + lt);
            }
            String tag = s.substring(lt + 1, gt);
            i = gt + 1;
            if (tag.startsWith("/")) {
                String name = tag.substring(1).strip();
                if (stack.isEmpty() || !stack.peek().name.equals(name)) {
                    throw new IllegalArgumentException("</" + name + "> does not close "
                            + (stack.isEmpty() ? "anything" : "<" + stack.peek().name + ">"));
                }
                stack.pop();
                continue;
            }
            boolean empty = tag.endsWith("/");
            if (empty) {
                tag = tag.substring(0, tag.length() - 1);
            }
            Matcher m = NAME.matcher(tag);
            if (!m.lookingAt()) {
                throw new IllegalArgumentException("bad tag <" + tag + ">");
            }
            String name = m.group();
            String rest = tag.substring(m.end());
            Map<String, String> attrs = new LinkedHashMap<>();
            Matcher a = ATTR.matcher(rest);
            int pos = 0;
            while (a.find() && a.start() == pos) {
                checkText(a.group(2));
                if (attrs.put(a.group(1), a.group(2)) != null) {
                    throw new IllegalArgumentException("attribute " + a.group(1) + " twice in <" + name + ">");
                }
                pos = a.end();
            }
            if (!rest.substring(pos).isBlank()) {
                throw new IllegalArgumentException("bad attributes in <" + tag + ">");
            }
            Node n = new Node(name, attrs);
            if (stack.isEmpty()) {
                if (root != null) {
                    throw new IllegalArgumentException("two root elements");
                }
                root = n;
            } else {
                stack.peek().children.add(n);
            }
            if (!empty) {
                stack.push(n);
            }
        }
        if (!stack.isEmpty()) {
            throw new IllegalArgumentException("<" + stack.peek().name + "> is not closed");
        }
        if (root == null) {
            throw new IllegalArgumentException("no root element");
        }
        return root;
    }

    private static void checkText(String t) {
        for (int k = t.indexOf('&'); k >= 0; k = t.indexOf('&', k + 1)) {
            if (!ENTITY.matcher(t).region(k, t.length()).lookingAt()) {
                throw new IllegalArgumentException("bare & in: " + t);
            }
        }
        if (t.indexOf('>') >= 0 && t.contains("]]>")) {
            throw new IllegalArgumentException("]]> in text");
        }
    }
}
