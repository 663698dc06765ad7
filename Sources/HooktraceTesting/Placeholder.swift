public enum HooktraceTesting {}
