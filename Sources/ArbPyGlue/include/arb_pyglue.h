/* arbbot._native: the CPython extension module over arb_engine.h (see glue.c).
 * Its only exported symbol is PyInit__native; nothing else includes this header. */
#ifndef ARB_PYGLUE_H
#define ARB_PYGLUE_H
#endif
