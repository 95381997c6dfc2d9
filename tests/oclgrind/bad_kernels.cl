/* bad_kernels.cl: two kernels with the errors Oclgrind must catch, for oclgrind_self_test.sh. */
/* an out-of-bounds write: work-item 3 of 4 writes x[4] of a 4-int buffer */
__kernel void oob(__global int *x) { x[get_global_id(0) + 1] = 1; }
/* a write-write data race: every work-item writes x[0], each a different value */
__kernel void race(__global int *x) { x[0] = (int)get_global_id(0); }
