/*
 * The screen model of capsem-hostd-screen: what the session's terminal
 * shows, kept by libvterm from the guest's output, and the bytes that draw
 * it again on a fresh terminal.  Pure: no I/O, no globals; the fuzz target
 * links it as it is.  Its input is the guest's terminal output: untrusted.
 */
#ifndef CAPSEM_SCREEN_MODEL_H
#define CAPSEM_SCREEN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <vterm.h>

/*
 * Larger windows are modelled at these bounds (the top-left part).  Two
 * columns at least: libvterm 0.1.4 writes past its buffer for a wide
 * character on a screen one column wide (found by fuzz_screen).
 */
#define MODEL_COLS_MIN		2
#define MODEL_COLS_MAX		500
#define MODEL_ROWS_MAX		250

struct model;

/* A growing byte buffer for the snapshot; NULL data on allocation failure. */
struct mbuf {
	uint8_t		*data;
	size_t		 len;
	size_t		 cap;
	int		 failed;
};

struct model	*model_new(int, int);
void		 model_free(struct model *);
void		 model_feed(struct model *, const uint8_t *, size_t);
void		 model_resize(struct model *, int, int);
void		 model_reset(struct model *);
void		 model_size(const struct model *, int *, int *);
int		 model_snapshot(struct model *, struct mbuf *);
void		 mbuf_free(struct mbuf *);
void		 model_set_skip(struct model *, int);
uint64_t	 model_skipped(const struct model *);

/* For the fuzz target: what the model shows. */
int		 model_alt(const struct model *);
int		 model_cell(const struct model *, int, int, VTermScreenCell *);
int		 model_cursor(const struct model *);
int		 model_drawable(uint32_t);
int		 model_cell_shown(struct model *, VTermScreenCell *, int, int,
		    int *);

#endif
