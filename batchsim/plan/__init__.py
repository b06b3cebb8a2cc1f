"""Planning the pool (DESIGN §9): VM size × task slots × fill type × formula in one search."""
