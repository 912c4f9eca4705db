"""sod.sparsity"""
