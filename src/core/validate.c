/* PLACEHOLDER: replaced by the validator work in progress. */
#include "module.h"
int wisp__validate(struct wisp_module *m, wisp_error_t *err) {
  return wisp__error(err, WISP_ERR_INVALID, 0, "validator not written yet");
}
