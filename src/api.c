/* api: placeholder, replaced by its module */
typedef int ll_placeholder_t;
