def aov(r, o): return r / o
