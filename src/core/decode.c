/* PLACEHOLDER: replaced by the decoder work in progress. */
#include "module.h"
int wisp__decode(struct wisp_module *m, wisp_error_t *err) {
  return wisp__error(err, WISP_ERR_MALFORMED, 0, "decoder not written yet");
}
