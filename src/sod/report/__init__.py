"""sod.report"""
